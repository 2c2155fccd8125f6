from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Health probes and ``/metrics``: what operators and orchestrators ask of the app."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from ops import checks  # noqa: F401 (registers the /metrics settings' checks)
