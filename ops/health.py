"""Health probes for orchestrators and load balancers (README: "Health and metrics").

``live``: the process answers; it touches nothing, so a database outage never gets the web
tier restarted. ``ready``: the database, the broker and the cache answer within a short
timeout (503 otherwise). The relay's heartbeat is reported but never fails readiness: a
stale relay is not fixed by taking the web tier out of rotation (alert on it instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

#: Seconds each dependency may take to answer.
CHECK_TIMEOUT_SECONDS = 2.0


def live(request: HttpRequest) -> JsonResponse:
    return _json({"status": "ok"}, 200)


def ready(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {
        name: _run(check) for name, check in REQUIRED_CHECKS.items()
    }
    healthy = all(result["status"] == "ok" for result in checks.values())
    checks["relay"] = relay_heartbeat()
    return _json(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, 200 if healthy else 503
    )


def _json(body: dict[str, Any], status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    # Probed every few seconds: a 503 is in the body for the orchestrator, not in the logs
    # once per probe (django.request would log each one).
    response._has_been_logged = True
    return response


def _run(check: Callable[[], None]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        check()
    except Exception as error:  # any failure is "not ready"; the class names what failed
        return {"status": "error", "error": type(error).__name__}
    return {"status": "ok", "seconds": round(time.monotonic() - started, 4)}


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    """Open (and close) one connection to the Celery broker, retrying nothing."""
    from handover_portal.celery import app

    with app.connection_for_write(connect_timeout=CHECK_TIMEOUT_SECONDS) as broker:
        broker.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT_SECONDS)


def check_cache() -> None:
    key = "health:ready"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not keep a value")


REQUIRED_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
}


def relay_heartbeat() -> dict[str, Any]:
    """The newest relay replica heartbeat: ``ok``, ``stale`` (older than the ownership
    lease: no replica holds the streams) or ``none`` (no relay has ever run). Informational."""
    from endpoints.models import RelayReplica

    try:
        newest = (
            RelayReplica.objects.order_by("-heartbeat_at")
            .values_list("heartbeat_at", flat=True)
            .first()
        )
    except Exception as error:
        return {"status": "error", "error": type(error).__name__}
    if newest is None:
        return {"status": "none"}
    age = (timezone.now() - newest).total_seconds()
    stale = age > settings.RELAY_OWNERSHIP_LEASE_SECONDS
    return {"status": "stale" if stale else "ok", "age_seconds": round(age, 1)}
