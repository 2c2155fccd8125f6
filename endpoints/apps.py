from __future__ import annotations

import contextlib

from celery import current_app
from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class EndpointsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "endpoints"
    verbose_name = "Endpoints"

    def ready(self) -> None:
        from endpoints import checks  # noqa: F401 (registers the system checks)
        from endpoints.api import credentials, secret_fields
        from endpoints.handovers import retention, tasks  # noqa: F401 (registers the tasks)
        from endpoints.providers import install_beat_schedule

        # Every model serializer takes a secret in and never shows it.
        secret_fields.install()
        # Verified API credentials kept briefly are forgotten when revoked.
        credentials.connect_signals()

        # A broken HANDOVER_PROVIDERS: the handover_portal.E004 check says why.
        with contextlib.suppress(ImproperlyConfigured):
            install_beat_schedule(current_app)
