"""System checks of the Genesys settings that a wrong value would break silently."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from endpoints.checks import lease_too_short


@checks.register()
def check_http_lease(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The relay's lease must outlast one Genesys attempt and one wait between attempts."""
    attempt = settings.GENESYS_HTTP_CONNECT_TIMEOUT + settings.GENESYS_HTTP_READ_TIMEOUT
    wait = max(
        settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS, settings.GENESYS_HTTP_BACKOFF_MAX_SECONDS
    )
    if attempt >= wait:
        what = "GENESYS_HTTP_CONNECT_TIMEOUT + GENESYS_HTTP_READ_TIMEOUT"
        return lease_too_short(attempt, what, "genesys.E001")
    what = "GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS (a wait between attempts)"
    return lease_too_short(wait, what, "genesys.E001")
