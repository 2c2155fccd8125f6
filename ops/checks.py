"""System check of the /metrics settings: a bad network stops the app, not every scrape."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core import checks


@checks.register()
def check_metrics_networks(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors = []
    for network in settings.METRICS_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            errors.append(
                checks.Error(
                    f"METRICS_ALLOWED_NETWORKS holds {network!r}, which is not an IP address "
                    "or CIDR network.",
                    hint="List addresses and networks, comma-separated: 10.0.0.0/8,fd00::/8.",
                    id="ops.E001",
                )
            )
    return errors
