"""``GET /api/v1/endpoints/{id}/agent-availability/`` against the sandbox."""

from __future__ import annotations

import logging

import pytest

from tests.api.conftest import token_client
from tests.factories import (
    CLIENT_SECRET,
    UNSENDABLE_SECRET,
    EndpointFactory,
    TokenFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def url(endpoint) -> str:
    return f"/api/v1/endpoints/{endpoint.public_id}/agent-availability/"


def test_figures_from_genesys(api, genesys_settings):
    response = api.get(url(genesys_settings.endpoint))
    assert response.status_code == 200
    body = response.json()
    assert body.pop("checked_at")
    assert body == {
        "available": True,
        "agents_on_queue": 3,
        "agents_idle": 2,
        "conversations_waiting": 1,
        "estimated_wait_seconds": 42,
    }
    assert CLIENT_SECRET.encode() not in response.content


def test_a_burst_of_requests_costs_genesys_one_call(api, genesys, genesys_settings):
    for _ in range(5):
        assert api.get(url(genesys_settings.endpoint)).status_code == 200
    assert len(genesys.requests("/api/v2/analytics")) == 1


def test_provider_none_is_a_409_with_the_reason(api):
    endpoint = EndpointFactory(name="Plain bot")
    response = api.get(url(endpoint))
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Handover is off for endpoint “Plain bot”: its Handover Provider is None. "
        "Choose a provider in the endpoint's Handover Settings."
    }


def test_missing_node_authentication_is_a_409(api, genesys_settings):
    genesys_settings.node_authentication = None
    genesys_settings.save()
    response = api.get(url(genesys_settings.endpoint))
    assert response.status_code == 409
    assert "Node Authentication is not set" in response.json()["detail"]


def test_genesys_failing_is_a_502_with_the_reason(api, genesys, genesys_settings):
    genesys.add_fault(path_prefix="/api/v2/analytics", status=500, times=5)
    response = api.get(url(genesys_settings.endpoint))
    assert response.status_code == 502
    assert "Genesys Cloud refused the queue observation query (500)" in response.json()["detail"]


def test_genesys_rate_limiting_is_a_503(api, genesys, genesys_settings, settings):
    settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS = 1
    genesys.add_fault(path_prefix="/api/v2/analytics", status=429, retry_after=30, times=5)
    response = api.get(url(genesys_settings.endpoint))
    assert response.status_code == 503
    assert "try again shortly" in response.json()["detail"]


def test_missing_permission_is_named(api, genesys, genesys_settings):
    genesys.put_client(
        genesys_settings.node_authentication.client_id,
        client_secret=CLIENT_SECRET,
        permissions=["routing:queue:view"],
    )
    response = api.get(url(genesys_settings.endpoint))
    assert response.status_code == 502
    assert "analytics:queueObservation:view" in response.json()["detail"]


def test_anonymous_401_and_no_permission_403(anonymous, genesys_settings):
    assert anonymous.get(url(genesys_settings.endpoint)).status_code == 401
    stranger = token_client(TokenFactory(user=UserFactory()))
    assert stranger.get(url(genesys_settings.endpoint)).status_code == 403


def test_unknown_endpoint_is_404(api):
    response = api.get("/api/v1/endpoints/00000000-0000-4000-8000-000000000000/agent-availability/")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_a_stored_secret_http_basic_cannot_carry_is_a_502_that_says_so(
    api, genesys, genesys_settings, caplog
):
    caplog.set_level(logging.DEBUG)
    connection = genesys_settings.node_authentication
    connection.client_secret = UNSENDABLE_SECRET  # written before the form refused it
    connection.save()
    response = api.get(url(genesys_settings.endpoint))
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert f"The client secret of “{connection.name}” holds characters" in detail
    assert "enter the client secret again" in detail
    assert UNSENDABLE_SECRET.encode() not in response.content
    assert UNSENDABLE_SECRET not in caplog.text
