"""Schemathesis over the project's own OpenAPI schema: no 5xx, every answer as documented.

The schema is served by the app and fuzzed against the WSGI application in this process,
with a token of a user who may view configuration and drive handovers, over real rows with
Genesys settings and handovers. The handover operations are called on real handovers and
endpoints (the generated id picks one), so their bodies are fuzzed past the 404. Starting a
handover never reaches Genesys: the start task is enqueued on commit, and the test's
transaction never commits.
Objects in the schema are made strict (``additionalProperties: false``) for the run, so a
field that a serializer returns but the schema does not declare fails it.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient

from endpoints.models import Endpoint
from handover_portal.wsgi import application
from tests.conftest import CLIENT_ID, QUEUE_NAME
from tests.factories import (
    ChannelFactory,
    EndpointFactory,
    GenesysSettingsFactory,
    HandoverEventFactory,
    HandoverFactory,
    OAuth2ConnectionFactory,
    OutboundMessageFactory,
    TokenFactory,
    UserFactory,
    issue_key,
)

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
    handovers = [
        HandoverFactory(endpoint=endpoints[0], agent_name="Alex Agent", status="active"),
        HandoverFactory(endpoint=endpoints[0], status="ended", end_reason="agent_left"),
        HandoverFactory(endpoint=endpoints[4]),  # with a callback URL
    ]
    HandoverEventFactory(handover=handovers[0], kind="agent_joined", data={"agent_name": "Al"})
    HandoverEventFactory(handover=handovers[0])
    HandoverEventFactory(handover=handovers[1], kind="ended", data={"reason": "agent_left"})
    OutboundMessageFactory(handover=handovers[0], client_message_id="m-1")
    handover_ids = [str(handover.public_id) for handover in handovers]
    return {
        "/api/v1/endpoints/{id}/": endpoint_ids,
        "/api/v1/endpoints/{id}/agent-availability/": endpoint_ids[:1],
        "/api/v1/endpoints/{id}/handovers/": endpoint_ids,
        "/api/v1/oauth2-connections/{id}/": [connection.pk for connection in connections],
        "/api/v1/handovers/{id}/": handover_ids,
        "/api/v1/handovers/{id}/messages/": handover_ids,
        "/api/v1/handovers/{id}/events/": handover_ids,
    }


#: Operations fuzzed on real objects: the generated id (when a UUID) picks one of the rows.
ON_REAL_OBJECTS = {
    "/api/v1/endpoints/{id}/handovers/",
    "/api/v1/handovers/{id}/",
    "/api/v1/handovers/{id}/messages/",
    "/api/v1/handovers/{id}/events/",
}


def on_a_real_object(case: Any, rows: dict[str, list[str]]) -> None:
    generated = (case.path_parameters or {}).get("id")
    if case.path not in ON_REAL_OBJECTS or not isinstance(generated, str):
        return
    try:
        number = uuid.UUID(generated).int
    except ValueError:
        return
    ids = rows[case.path]
    case.path_parameters["id"] = ids[number % len(ids)]


@pytest.fixture
def in_process_wsgi(settings: Any) -> Iterator[None]:
    """Serve WSGI requests inside the test's transaction, as Django's test client does."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min", "handover": "100000/min"},
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
def auth() -> dict[str, str]:
    """A user who may view configuration and drive handovers."""
    user = UserFactory(
        view=["endpoints.endpoint", "genesys.oauth2connection"],
        perms=["endpoints.drive_handover"],
    )
    return {"Authorization": f"Token {TokenFactory(user=user).key}"}


schema = load_schema()

_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def control_character_in_a_key(node: Any) -> bool:
    if isinstance(node, list):
        return any(map(control_character_in_a_key, node))
    if isinstance(node, dict):
        return any(
            (isinstance(key, str) and _CONTROL_CHARACTER.search(key))
            or control_character_in_a_key(value)
            for key, value in node.items()
        )
    return False


@schema.hook
def filter_body(ctx: Any, body: Any) -> bool:
    """No generated body has a control character in an object key.

    The API refuses them in `profile` and `custom_fields` keys (PostgreSQL cannot store NUL
    in JSON), but OpenAPI 3.0 has no way to state a rule about keys (`propertyNames` is 3.1):
    the schema says it in words, and ``tests/api/test_handovers.py`` checks the 400.
    """
    return not control_character_in_a_key(body)


def a_message_its_provider_takes(case: Any) -> None:
    """A message's attachments and quick reply answer dropped (and its text, then, made
    non-empty).

    Which MIME types (if any) a message may carry depends on the handover's provider, a
    message needs a text or attachments, and a quick reply answer must be one of the options
    the handover's events offered, alone: rules OpenAPI 3.0 cannot state for a schema shared
    by every handover. The schema says them in words; ``tests/api/test_handovers.py`` and
    ``tests/api/test_quick_reply_answers.py`` check the 400s.
    """
    generation = getattr(getattr(case, "_meta", None), "generation", None)
    if getattr(getattr(generation, "mode", None), "value", "positive") != "positive":
        return  # a request meant to be refused stays as generated
    body = case.body
    if case.path.endswith("/messages/") and not isinstance(body, dict):
        # No body at all (the request body is optional: every field is) is no message.
        case.body, case.media_type = {"text": "x"}, "application/json"
        return
    if case.path.endswith("/messages/") and isinstance(body, dict):
        body.pop("attachments", None)
        body.pop("quick_reply", None)
        if not (isinstance(body.get("text"), str) and body["text"]):
            body["text"] = "x"


def test_fuzzed_schema_is_the_served_schema(auth: dict[str, str]) -> None:
    served = APIClient().get("/api/schema/?format=json", HTTP_AUTHORIZATION=auth["Authorization"])
    assert served.status_code == 200
    assert served.json() == generated_document()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # The same examples on every run, so CI is repeatable; set HYPOTHESIS_RANDOM=1 to explore.
    derandomize=not os.environ.get("HYPOTHESIS_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(
    case: Any, auth: dict[str, str], rows: dict, in_process_wsgi: None
) -> None:
    on_a_real_object(case, rows)
    a_message_its_provider_takes(case)
    case.call_and_validate(headers=auth)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/endpoints/",
        "/api/v1/endpoints/{id}/",
        "/api/v1/oauth2-connections/",
        "/api/v1/oauth2-connections/{id}/",
        "/api/v1/endpoints/{id}/agent-availability/",
        "/api/v1/handovers/{id}/",
        "/api/v1/handovers/{id}/events/",
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


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/endpoints/",
        "/api/v1/endpoints/{id}/",
        "/api/v1/handovers/{id}/",
        "/api/v1/handovers/{id}/events/",
    ],
)
def test_a_channel_keys_view_conforms_to_the_schema(
    path: str, rows: dict[str, list[str]], in_process_wsgi: None
) -> None:
    """A channel key sees its endpoints' connections by id only: that shape is documented."""
    channel = ChannelFactory(endpoints=Endpoint.objects.all())
    headers = {"Authorization": f"Api-Key {issue_key(channel)[1]}"}
    operation = schema[path]["GET"]
    cases = [operation.Case(path_parameters={"id": object_id}) for object_id in rows.get(path, [])]
    for case in cases or [operation.Case()]:
        response = case.call_and_validate(headers=headers)
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "statuses"),
    [
        (
            "/api/v1/endpoints/{id}/handovers/",
            {
                "user_id": "u",
                "session_id": "s",
                "profile": {"first_name": "Ada", "email": "ada@example.com", "city": "London"},
                "custom_fields": {"plan": "gold"},
                "transcript": [{"from": "user", "text": "help", "at": "2025-01-15T09:30:00Z"}],
            },
            {200, 201, 409},
        ),
        ("/api/v1/handovers/{id}/messages/", {"text": "hi", "client_message_id": "m-1"}, {202}),
    ],
)
def test_real_writes_conform_to_their_schema(
    path: str,
    body: dict,
    statuses: set[int],
    auth: dict[str, str],
    rows: dict[str, list[str]],
    in_process_wsgi: None,
) -> None:
    operation = schema[path]["POST"]
    for object_id in rows[path]:
        case = operation.Case(path_parameters={"id": object_id}, body=body)
        response = case.call_and_validate(headers=auth)
        assert response.status_code in statuses | {409}, object_id


def test_ending_a_real_handover_conforms_to_its_schema(
    auth: dict[str, str], rows: dict[str, list[str]], in_process_wsgi: None
) -> None:
    operation = schema["/api/v1/handovers/{id}/"]["DELETE"]
    for object_id in rows["/api/v1/handovers/{id}/"] * 2:
        case = operation.Case(path_parameters={"id": object_id})
        assert case.call_and_validate(headers=auth).status_code == 200
