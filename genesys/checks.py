"""System checks of the Genesys settings that a wrong value would break silently or unsafely."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from endpoints.checks import lease_too_short
from endpoints.validators import printable


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


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@checks.register()
def check_api_base_url(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``GENESYS_API_BASE_URL`` sends every Genesys call, OAuth client secrets included,
    to one other server: without ``DEBUG`` only when ``GENESYS_API_BASE_URL_ALLOWED`` says
    so (benchmarks, staging against the sandbox), and never in clear over a network."""
    base = settings.GENESYS_API_BASE_URL
    if not base or settings.DEBUG:
        return []
    try:
        parts = urlsplit(base)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        scheme, host, port = "", None, None
    shown = f"{printable(scheme, limit=10)}://{printable(host, limit=100)}" + (
        f":{port}" if port else ""
    )
    if not settings.GENESYS_API_BASE_URL_ALLOWED:
        return [
            checks.Error(
                f"GENESYS_API_BASE_URL is set ({shown}) while DEBUG is off: every Genesys "
                "Cloud call, OAuth client secrets included, would go there instead of "
                "Genesys Cloud.",
                hint="Unset GENESYS_API_BASE_URL to call Genesys Cloud. Where production "
                "settings run against a sandbox on purpose (benchmarks, staging), also set "
                "GENESYS_API_BASE_URL_ALLOWED=true.",
                id="genesys.E002",
            )
        ]
    if scheme == "https" or (scheme == "http" and is_loopback(host)):
        return []
    return [
        checks.Error(
            f"GENESYS_API_BASE_URL ({shown}) must be https://, or http:// to this machine "
            "(a loopback address): client secrets and tokens would cross the network in "
            "clear.",
            hint="Serve the sandbox over HTTPS, or run it on this machine (127.0.0.1).",
            id="genesys.E003",
        )
    ]


@checks.register()
def check_stream_connection_limit(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The relay's connection limit for event streams: 0 (none) or a positive count."""
    if settings.GENESYS_STREAM_CONNECTION_LIMIT >= 0:
        return []
    return [
        checks.Error(
            f"GENESYS_STREAM_CONNECTION_LIMIT is {settings.GENESYS_STREAM_CONNECTION_LIMIT}.",
            hint="Set it to 0 (no limit: one connection per open web chat) or to the most "
            "event streams one relay process may hold.",
            id="genesys.E004",
        )
    ]
