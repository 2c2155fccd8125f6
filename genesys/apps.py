from __future__ import annotations

from django.apps import AppConfig


class GenesysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "genesys"
    verbose_name = "Genesys Cloud"

    def ready(self) -> None:
        from genesys import checks  # noqa: F401 (registers the system checks)
