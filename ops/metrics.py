"""``/metrics`` for Prometheus: the per-process instruments and the database's gauges.

Never open by default. With ``METRICS_BEARER_TOKEN`` set a scrape must send
``Authorization: Bearer <token>`` (401 otherwise); without it only clients whose address is
loopback or in ``METRICS_ALLOWED_NETWORKS`` are answered (403 otherwise). The client's
address is the one the admin's lockout uses (``TRUSTED_PROXY_COUNT``).
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from ops.collector import DatabaseCollector
from security.lockout import client_ip

LOOPBACK = ("127.0.0.0/8", "::1/128")


def metrics(request: HttpRequest) -> HttpResponse:
    refusal = refuse(request)
    if refusal is not None:
        return refusal
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector())
    body = generate_latest(process_registry()) + generate_latest(database)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def process_registry() -> CollectorRegistry:
    """Every process's instruments (multiprocess mode), else this process's own."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=directory)
    return registry


def refuse(request: HttpRequest) -> HttpResponse | None:
    token = settings.METRICS_BEARER_TOKEN
    if token:
        scheme, _, sent = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            sent.strip().encode("utf-8"), token.encode("utf-8")
        ):
            return None
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if address_allowed(client_ip(request)):
        return None
    return HttpResponse("Forbidden\n", status=403, content_type="text/plain")


def address_allowed(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    networks = [*LOOPBACK, *settings.METRICS_ALLOWED_NETWORKS]
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)
