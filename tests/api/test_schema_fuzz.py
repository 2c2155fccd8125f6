"""Schemathesis over the project's own OpenAPI schema: no 5xx, every answer as documented.

The schema is served by the app and fuzzed against the WSGI application in this process,
with a token of a user who may view configuration, over real rows with Genesys settings.
Objects in the schema are made strict (``additionalProperties: false``) for the run, so a
field that a serializer returns but the schema does not declare fails it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from handover_portal.wsgi import application
from tests.conftest import CLIENT_ID, QUEUE_NAME
from tests.factories import EndpointFactory, GenesysSettingsFactory, OAuth2ConnectionFactory

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 25


def strict(node: Any) -> None:
    """Forbid undeclared properties in every object schema that does not say otherwise."""
    if isinstance(node, list):
        for item in node:
            strict(item)
    elif isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            strict(value)


@pytest.fixture
def rows(genesys: Any, queue_id: Any) -> dict[str, list[str]]:
    """Real configuration, and the ids each detail operation can be called with.

    The first connection and queue exist in the sandbox, so agent availability answers
    with figures for the first endpoint (and 409 for the others, never a 5xx).
    """
    shared = OAuth2ConnectionFactory(scope="openid", client_id=CLIENT_ID)
    settings = [
        GenesysSettingsFactory(
            node_authentication=shared,
            send_profile_information=True,
            queue_id=queue_id,
            queue_name=QUEUE_NAME,
        ),
        GenesysSettingsFactory(node_authentication__client_secret=""),
        GenesysSettingsFactory(node_authentication=None, endpoint__channel_type="rest"),
        # Kept from an earlier choice: inactive, shown as null.
        GenesysSettingsFactory(endpoint__handover_provider="none"),
    ]
    endpoints = [
        *(row.endpoint for row in settings),
        EndpointFactory(channel_type="socket", callback_url="https://bot.example.com/cb"),
        EndpointFactory(channel_type="webhook", handover_provider="genesys"),
    ]
    connections = [shared, *(row.node_authentication for row in settings[1:2])]
    endpoint_ids = [str(endpoint.public_id) for endpoint in endpoints]
    return {
        "/api/v1/endpoints/{id}/": endpoint_ids,
        "/api/v1/endpoints/{id}/agent-availability/": endpoint_ids[:1],
        "/api/v1/oauth2-connections/{id}/": [connection.pk for connection in connections],
    }


@pytest.fixture
def in_process_wsgi(settings: Any) -> Iterator[None]:
    """Serve WSGI requests inside the test's transaction, as Django's test client does."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min"},
    }
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def generated_document() -> dict[str, Any]:
    """The schema document exactly as ``/api/schema/?format=json`` serves it.

    Generated at collection, without a request (and so without a database): schemathesis
    parametrizes the tests from it. ``test_fuzzed_schema_is_the_served_schema`` checks that
    the app serves the same document.
    """
    generator = SchemaGenerator()
    return json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))


def load_schema() -> Any:
    document = generated_document()
    strict(document)
    schema = schemathesis.openapi.from_dict(document)
    schema.app = application
    return schema


@pytest.fixture
def auth(viewer_token: Token) -> dict[str, str]:
    return {"Authorization": f"Token {viewer_token.key}"}


schema = load_schema()


def test_fuzzed_schema_is_the_served_schema(anonymous: Any) -> None:
    served = anonymous.get("/api/schema/?format=json")
    assert served.status_code == 200
    assert served.json() == generated_document()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(
    case: Any, auth: dict[str, str], rows: dict, in_process_wsgi: None
) -> None:
    case.call_and_validate(headers=auth)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/endpoints/",
        "/api/v1/endpoints/{id}/",
        "/api/v1/oauth2-connections/",
        "/api/v1/oauth2-connections/{id}/",
        "/api/v1/endpoints/{id}/agent-availability/",
    ],
)
def test_real_objects_conform_to_their_schema(
    path: str, auth: dict[str, str], rows: dict[str, list[str]], in_process_wsgi: None
) -> None:
    """Generated ids rarely exist: call each operation on every real object too."""
    operation = schema[path]["GET"]
    cases = [operation.Case(path_parameters={"id": object_id}) for object_id in rows.get(path, [])]
    for case in cases or [operation.Case()]:
        response = case.call_and_validate(headers=auth)
        assert response.status_code == 200
        assert response.json()
