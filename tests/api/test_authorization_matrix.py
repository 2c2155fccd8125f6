"""Who may do what: one table, every cell asserted.

Rows are every operation: each path of the OpenAPI schema with each of GET, POST, PUT,
PATCH and DELETE (those it does not document too: they must refuse; HEAD answers as GET),
the docs pages and the admin pages. Columns are the credentials; a cell is the expected
status on A's object and on B's, or ``(on A's, on B's)`` where the two differ. A new
operation, URL pattern or admin page without a row fails
``test_the_table_covers_every_operation``.

No answer shows a secret (the client secret, a key, a token). Every request runs in its
own savepoint, rolled back afterwards, with an empty cache: no cell sees what another did
(a started handover, a throttle count, a cached answer).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from endpoints.api.confinement import ChannelConfinedMixin
from tests.conftest import CLIENT_ID, QUEUE_NAME
from tests.factories import (
    CLIENT_SECRET,
    ChannelFactory,
    GenesysSettingsFactory,
    HandoverEventFactory,
    HandoverFactory,
    OAuth2ConnectionFactory,
    TokenFactory,
    UserFactory,
    issue_key,
)

pytestmark = pytest.mark.django_db

CREDENTIALS = (
    "anonymous",
    "superuser",  # staff superuser, admin session
    "viewer",  # staff with view endpoint and view OAuth2 connection, admin session
    "driver",  # DRF token of a user with endpoints.drive_handover only
    "key_a",  # channel A's API key (A owns endpoint A)
    "key_b",  # channel B's API key (B owns endpoint B)
    "expired",  # channel A's key, past its expiry date
    "revoked",  # channel A's key, revoked
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

Cell = int | tuple[int, int]

# fmt: off
#: operation: (anonymous, superuser, viewer, driver, key_a, key_b, expired, revoked)
TABLE: dict[str, tuple[Cell, ...]] = {
    # --- Configuration: read with the view permission, a key its own endpoints only.
    "GET /api/v1/endpoints/":                           (401, 200, 200, 403, 200, 200, 401, 401),
    "POST /api/v1/endpoints/":                          (401, 405, 405, 405, 405, 405, 401, 401),
    "PUT /api/v1/endpoints/":                           (401, 405, 405, 405, 405, 405, 401, 401),
    "PATCH /api/v1/endpoints/":                         (401, 405, 405, 405, 405, 405, 401, 401),
    "DELETE /api/v1/endpoints/":                        (401, 405, 405, 405, 405, 405, 401, 401),
    "GET /api/v1/endpoints/{id}/":                      (401, 200, 200, 403, (200, 404), (404, 200), 401, 401),  # noqa: E501
    "POST /api/v1/endpoints/{id}/":                     (401, 405, 405, 405, 405, 405, 401, 401),
    "PUT /api/v1/endpoints/{id}/":                      (401, 405, 405, 405, 405, 405, 401, 401),
    "PATCH /api/v1/endpoints/{id}/":                    (401, 405, 405, 405, 405, 405, 401, 401),
    "DELETE /api/v1/endpoints/{id}/":                   (401, 405, 405, 405, 405, 405, 401, 401),
    "GET /api/v1/endpoints/{id}/agent-availability/":   (401, 200, 200, 403, (200, 404), (404, 200), 401, 401),  # noqa: E501
    "POST /api/v1/endpoints/{id}/agent-availability/":  (401, 405, 405, 405, 405, 405, 401, 401),
    "PUT /api/v1/endpoints/{id}/agent-availability/":   (401, 405, 405, 405, 405, 405, 401, 401),
    "PATCH /api/v1/endpoints/{id}/agent-availability/": (401, 405, 405, 405, 405, 405, 401, 401),
    "DELETE /api/v1/endpoints/{id}/agent-availability/": (401, 405, 405, 405, 405, 405, 401, 401),
    # Metrics: view_handover (not the viewer's configuration permissions), a key its own only.
    # The permission is checked before the method.
    "GET /api/v1/endpoints/{id}/metrics/":              (401, 200, 403, 403, (200, 404), (404, 200), 401, 401),  # noqa: E501
    "POST /api/v1/endpoints/{id}/metrics/":             (401, 405, 403, 403, 405, 405, 401, 401),
    "PUT /api/v1/endpoints/{id}/metrics/":              (401, 405, 403, 403, 405, 405, 401, 401),
    "PATCH /api/v1/endpoints/{id}/metrics/":            (401, 405, 403, 403, 405, 405, 401, 401),
    "DELETE /api/v1/endpoints/{id}/metrics/":           (401, 405, 403, 403, 405, 405, 401, 401),
    # OAuth2 connections: never for a key, nor a driving token.
    "GET /api/v1/oauth2-connections/":                  (401, 200, 200, 403, 403, 403, 401, 401),
    "POST /api/v1/oauth2-connections/":                 (401, 405, 405, 405, 405, 405, 401, 401),
    "PUT /api/v1/oauth2-connections/":                  (401, 405, 405, 405, 405, 405, 401, 401),
    "PATCH /api/v1/oauth2-connections/":                (401, 405, 405, 405, 405, 405, 401, 401),
    "DELETE /api/v1/oauth2-connections/":               (401, 405, 405, 405, 405, 405, 401, 401),
    "GET /api/v1/oauth2-connections/{id}/":             (401, 200, 200, 403, 403, 403, 401, 401),
    "POST /api/v1/oauth2-connections/{id}/":            (401, 405, 405, 405, 405, 405, 401, 401),
    "PUT /api/v1/oauth2-connections/{id}/":             (401, 405, 405, 405, 405, 405, 401, 401),
    "PATCH /api/v1/oauth2-connections/{id}/":           (401, 405, 405, 405, 405, 405, 401, 401),
    "DELETE /api/v1/oauth2-connections/{id}/":          (401, 405, 405, 405, 405, 405, 401, 401),
    # --- Runtime: drive_handover (superusers hold every permission), a key its own only.
    # The permission is checked before the method: a viewer gets 403 even where it is 405.
    "POST /api/v1/endpoints/{id}/handovers/":           (401, 201, 403, 201, (201, 404), (404, 201), 401, 401),  # noqa: E501
    "GET /api/v1/endpoints/{id}/handovers/":            (401, 405, 403, 405, 405, 405, 401, 401),
    "PUT /api/v1/endpoints/{id}/handovers/":            (401, 405, 403, 405, 405, 405, 401, 401),
    "PATCH /api/v1/endpoints/{id}/handovers/":          (401, 405, 403, 405, 405, 405, 401, 401),
    "DELETE /api/v1/endpoints/{id}/handovers/":         (401, 405, 403, 405, 405, 405, 401, 401),
    "GET /api/v1/handovers/{id}/":                      (401, 200, 403, 200, (200, 404), (404, 200), 401, 401),  # noqa: E501
    "POST /api/v1/handovers/{id}/":                     (401, 405, 403, 405, 405, 405, 401, 401),
    "PUT /api/v1/handovers/{id}/":                      (401, 405, 403, 405, 405, 405, 401, 401),
    "PATCH /api/v1/handovers/{id}/":                    (401, 405, 403, 405, 405, 405, 401, 401),
    "DELETE /api/v1/handovers/{id}/":                   (401, 200, 403, 200, (200, 404), (404, 200), 401, 401),  # noqa: E501
    "GET /api/v1/handovers/{id}/messages/":             (401, 405, 403, 405, 405, 405, 401, 401),
    "POST /api/v1/handovers/{id}/messages/":            (401, 202, 403, 202, (202, 404), (404, 202), 401, 401),  # noqa: E501
    "PUT /api/v1/handovers/{id}/messages/":             (401, 405, 403, 405, 405, 405, 401, 401),
    "PATCH /api/v1/handovers/{id}/messages/":           (401, 405, 403, 405, 405, 405, 401, 401),
    "DELETE /api/v1/handovers/{id}/messages/":          (401, 405, 403, 405, 405, 405, 401, 401),
    "GET /api/v1/handovers/{id}/events/":               (401, 200, 403, 200, (200, 404), (404, 200), 401, 401),  # noqa: E501
    "POST /api/v1/handovers/{id}/events/":              (401, 405, 403, 405, 405, 405, 401, 401),
    "PUT /api/v1/handovers/{id}/events/":               (401, 405, 403, 405, 405, 405, 401, 401),
    "PATCH /api/v1/handovers/{id}/events/":             (401, 405, 403, 405, 405, 405, 401, 401),
    "DELETE /api/v1/handovers/{id}/events/":            (401, 405, 403, 405, 405, 405, 401, 401),
    "GET /api/v1/handovers/{id}/typing/":               (401, 405, 403, 405, 405, 405, 401, 401),
    "POST /api/v1/handovers/{id}/typing/":              (401, 202, 403, 202, (202, 404), (404, 202), 401, 401),  # noqa: E501
    "PUT /api/v1/handovers/{id}/typing/":               (401, 405, 403, 405, 405, 405, 401, 401),
    "PATCH /api/v1/handovers/{id}/typing/":             (401, 405, 403, 405, 405, 405, 401, 401),
    "DELETE /api/v1/handovers/{id}/typing/":            (401, 405, 403, 405, 405, 405, 401, 401),
    # --- The schema and the docs: who may view endpoints (a key too).
    "GET api-schema":                                   (401, 200, 200, 403, 200, 200, 401, 401),
    "GET api-docs":                                     (401, 200, 200, 403, 200, 200, 401, 401),
    "GET api-redoc":                                    (401, 200, 200, 403, 200, 200, 401, 401),
    # --- The admin: staff sessions only; a token or key is no login (302 to it).
    "GET admin auth.group changelist":                  (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin axes.accessattempt changelist":          (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin axes.accessfailurelog changelist":       (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin axes.accesslog changelist":              (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin auth.user changelist":                   (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.channel changelist":           (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.channelapikey changelist":     (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.endpoint changelist":          (302, 200, 200, 302, 302, 302, 302, 302),
    "GET admin endpoints.handover changelist":          (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.relayreplica changelist":      (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.stafftoken changelist":        (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin genesys.oauth2connection changelist":    (302, 200, 200, 302, 302, 302, 302, 302),
    "GET admin genesys.openmessaginginbox changelist":  (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.channel change":               (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.channelapikey change":         (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.channelapikey add":            (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin endpoints.endpoint change":              (302, 200, 200, 302, 302, 302, 302, 302),
    "GET admin endpoints.handover change":              (302, 200, 403, 302, 302, 302, 302, 302),
    "GET handover-overview":                            (302, 200, 403, 302, 302, 302, 302, 302),
    "GET admin genesys.oauth2connection change":        (302, 200, 200, 302, 302, 302, 302, 302),
}
# fmt: on

#: What each request sends as its body, by path (writes only).
BODIES = {
    "/api/v1/endpoints/{id}/handovers/": {"user_id": "u-1", "session_id": "s-1"},
    "/api/v1/handovers/{id}/messages/": {"text": "Hello?"},
}
#: Which object a path's ``{id}`` names, by its first segment.
KINDS = {"endpoints": "endpoint", "handovers": "handover", "oauth2-connections": "oauth2connection"}


def schema_operations() -> dict[str, set[str]]:
    """The schema's paths, each with its documented methods."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return {path: {method.upper() for method in operations} for path, operations in paths.items()}


def url_patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every named URL pattern: its route and its name (with its namespace)."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            namespace = f"{pattern.namespace}:" if pattern.namespace else ""
            for sub_route, name in url_patterns(pattern, route):
                yield sub_route, f"{namespace}{name}"
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield route, pattern.name


@pytest.fixture
def world(genesys: Any, queue_id: Any) -> dict[str, Any]:
    """Endpoints A and B (owned by channels A and B), with Genesys settings on the sandbox,
    a handover each, and every credential of ``CREDENTIALS`` as a client.
    """
    objects: dict[str, dict[str, Any]] = {}
    for side in "AB":
        connection = OAuth2ConnectionFactory(name=f"Connection {side}", client_id=CLIENT_ID)
        settings = GenesysSettingsFactory(
            endpoint__name=f"Endpoint {side}",
            node_authentication=connection,
            queue_id=queue_id,
            queue_name=QUEUE_NAME,
        )
        channel = ChannelFactory(name=f"Channel {side}", endpoints=[settings.endpoint])
        handover = HandoverFactory(endpoint=settings.endpoint, status="active")
        HandoverEventFactory(handover=handover)
        objects[side] = {
            "endpoint": settings.endpoint,
            "oauth2connection": connection,
            "channel": channel,
            "handover": handover,
            "channelapikey": issue_key(channel)[0],
        }
    keys = {
        "key_a": issue_key(objects["A"]["channel"])[1],
        "key_b": issue_key(objects["B"]["channel"])[1],
        "expired": issue_key(
            objects["A"]["channel"], expiry_date=timezone.now() - timedelta(minutes=1)
        )[1],
        "revoked": issue_key(objects["A"]["channel"], revoked=True)[1],
    }
    clients = {name: APIClient() for name in CREDENTIALS}
    clients["superuser"].force_login(UserFactory(is_staff=True, is_superuser=True))
    clients["viewer"].force_login(
        UserFactory(is_staff=True, view=["endpoints.endpoint", "genesys.oauth2connection"])
    )
    driver = TokenFactory(user=UserFactory(perms=["endpoints.drive_handover"]))
    clients["driver"].credentials(HTTP_AUTHORIZATION=f"Token {driver.key}")
    for name, key in keys.items():
        clients[name].credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    secrets = [CLIENT_SECRET, driver.key, *(key.partition(".")[2] for key in keys.values())]
    return {"objects": objects, "clients": clients, "secrets": secrets}


def url_of(operation: str, target: dict[str, Any]) -> str:
    """The URL of ``operation`` on ``target`` (one side's objects)."""
    _method, what = operation.split(" ", 1)
    if what.startswith("/api/"):
        kind = KINDS[what.split("/")[3]]
        obj = target[kind]
        return what.replace("{id}", str(getattr(obj, "public_id", obj.pk)))
    if what.startswith("admin "):
        _admin, label, view = what.split(" ")
        app_label, model_name = label.split(".")
        args = [target[model_name].pk] if view == "change" else []
        return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)
    return reverse(what)


def expected_cells(operation: str) -> dict[tuple[str, str], int]:
    cells = {}
    for credential, cell in zip(CREDENTIALS, TABLE[operation], strict=True):
        on_a, on_b = cell if isinstance(cell, tuple) else (cell, cell)
        cells[credential, "A"], cells[credential, "B"] = on_a, on_b
    return cells


def call(client: APIClient, operation: str, url: str, secrets: list[str]) -> int:
    """The status of one request, whose effects are rolled back; no answer shows a secret."""
    method, what = operation.split(" ", 1)
    body = BODIES.get(what) if method == "POST" else None
    with transaction.atomic():
        cache.clear()
        response = client.generic(
            method, url, "" if body is None else json.dumps(body), "application/json"
        )
        transaction.set_rollback(True)
    content = response.content.decode()
    assert not [secret for secret in secrets if secret in content], url
    return response.status_code


@pytest.mark.parametrize("operation", list(TABLE))
def test_authorization(operation: str, world: dict[str, Any]) -> None:
    actual = {}
    for credential in CREDENTIALS:
        # An operation without an object has one URL: asked once, the answer for both sides.
        statuses: dict[str, int] = {}
        for side in "AB":
            url = url_of(operation, world["objects"][side])
            if url not in statuses:
                client = world["clients"][credential]
                statuses[url] = call(client, operation, url, world["secrets"])
            actual[credential, side] = statuses[url]
    assert actual == expected_cells(operation)


def test_the_table_covers_every_operation() -> None:
    operations = schema_operations()
    api_rows = {f"{method} {path}" for path in operations for method in METHODS}
    api_names = {
        name for route, name in url_patterns(get_resolver()) if route.startswith("api/v1/")
    }
    docs_names = {
        name
        for route, name in url_patterns(get_resolver())
        if route.startswith("api/") and not route.startswith("api/v1/")
    }
    admin_changelists = {
        f"GET admin {model._meta.label_lower} changelist" for model in admin.site._registry
    }

    # Every documented operation, with every method, has a row, and nothing else under /api/.
    assert {row for row in TABLE if " /api/" in row} == api_rows
    # Every URL pattern under /api/v1/ is in the schema, and under /api/ a docs row.
    samples = {"endpoint": "00000000-0000-4000-8000-000000000000", "oauth2connection": "1"}
    samples["handover"] = samples["endpoint"]
    resolved = [
        resolve(path.replace("{id}", samples[KINDS[path.split("/")[3]]])) for path in operations
    ]
    assert {match.view_name for match in resolved} == api_names
    assert {row.split(" ")[1] for row in TABLE if row.startswith("GET api-")} == docs_names
    # Every admin page of a registered model has its changelist row.
    assert {row for row in TABLE if row.endswith(" changelist")} == admin_changelists
    # Every API view is confined to a channel key's endpoints.
    for match in resolved:
        assert issubclass(match.func.cls, ChannelConfinedMixin), match.view_name
    # Every documented operation succeeds for someone.
    for path, methods in operations.items():
        for method in methods:
            cells = expected_cells(f"{method} {path}").values()
            assert any(200 <= status < 300 for status in cells), f"{method} {path}"
