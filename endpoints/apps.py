from __future__ import annotations

from django.apps import AppConfig


class EndpointsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "endpoints"
    verbose_name = "Endpoints"

    def ready(self) -> None:
        from endpoints import checks  # noqa: F401 (registers the system checks)
        from endpoints.handovers import retention, tasks  # noqa: F401 (registers the tasks)
