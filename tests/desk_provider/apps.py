from __future__ import annotations

from django.apps import AppConfig


class DeskProviderConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tests.desk_provider"
    label = "desk_provider"
    verbose_name = "Test Desk"

    def ready(self) -> None:
        from tests.desk_provider import tasks  # noqa: F401 (registers the periodic task)
