from __future__ import annotations

from django.apps import AppConfig


class GenesysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "genesys"
    verbose_name = "Genesys Cloud"

    def ready(self) -> None:
        from endpoints.rotation import register_cached_secrets
        from genesys import checks  # noqa: F401 (registers the system checks)
        from genesys.open_messaging import tasks  # noqa: F401 (registers the tasks)
        from genesys.platform.tokens import cached_token_keys

        register_cached_secrets(cached_token_keys)
