"""``GET /api/v1/endpoints/{id}/metrics/``: figures over a range, validation, confinement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.api.conftest import key_client, token_client
from tests.factories import (
    ChannelFactory,
    EndpointFactory,
    HandoverFactory,
    TokenFactory,
    UserFactory,
    issue_key,
)
from tests.overview_seed import seed

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)
DAY_START = datetime(2026, 6, 15, tzinfo=UTC)


@pytest.fixture
def endpoints() -> dict:
    return {"A": EndpointFactory(name="Endpoint A"), "B": EndpointFactory(name="Endpoint B")}


@pytest.fixture
def reviewer() -> APIClient:
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Handover reviewers"))
    return token_client(TokenFactory(user=user))


def url(endpoint: object) -> str:
    return f"/api/v1/endpoints/{endpoint.public_id}/metrics/"


def test_figures_by_hour(reviewer: APIClient, endpoints: dict) -> None:
    seed(NOW, endpoints)
    response = reviewer.get(
        url(endpoints["A"]),
        {"from": "2026-06-15T09:00:00Z", "to": "2026-06-15T13:00:00Z", "interval": "hour"},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["endpoint"] == str(endpoints["A"].public_id)
    assert (body["from"], body["to"], body["interval"]) == (
        "2026-06-15T09:00:00Z",
        "2026-06-15T13:00:00Z",
        "hour",
    )
    assert body["now"] == {
        "starting": 1,
        "queued": 2,
        "active": 1,
        "longest_wait_seconds": pytest.approx(body["now"]["longest_wait_seconds"]),
        "median_wait_seconds": pytest.approx(body["now"]["median_wait_seconds"]),
        "failed_messages": 1,
        "failed_callbacks": 1,
    }
    # Endpoint A, started 09:30 to 12:25: 6 handovers; agents at 60 and 180 s.
    assert body["range"] == {
        "started": 6,
        "reached_agent": 2,
        "ended": {"agent_left": 1, "user_ended": 0, "staff_ended": 0, "expired": 1, "error": 0},
        "expired": 1,
        "time_to_agent": {"median_seconds": 120.0, "p90_seconds": 168.0},
        "time_to_first_reply": {"median_seconds": 210.0, "p90_seconds": 282.0},
    }
    assert [(b["start"], b["started"], b["open"]) for b in body["series"]] == [
        ("2026-06-15T09:00:00Z", 1, 0),
        ("2026-06-15T10:00:00Z", 1, 0),
        ("2026-06-15T11:00:00Z", 0, 0),  # endpoint B's handover is not counted
        ("2026-06-15T12:00:00Z", 4, 4),
    ]
    assert body["series"][0]["ended"]["expired"] == 1


def test_defaults_and_days(reviewer: APIClient, endpoints: dict) -> None:
    body = reviewer.get(url(endpoints["A"])).json()
    assert body["interval"] == "day"
    since = datetime.fromisoformat(body["from"])
    until = datetime.fromisoformat(body["to"])
    assert until - since == timedelta(days=7)
    assert len(body["series"]) == 8  # the partial first day and today
    assert body["range"]["time_to_agent"] == {"median_seconds": None, "p90_seconds": None}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2026-06-15T00:00Z", "to": "2026-06-14T00:00Z"}, "from", "before"),
        ({"from": "2026-06-15T00:00Z", "to": "2026-06-15T00:00Z"}, "from", "before"),
        ({"from": "2026-01-01T00:00Z", "to": "2026-03-01T00:00Z", "interval": "hour"}, "to", "31"),
        ({"from": "2024-01-01T00:00Z", "to": "2026-01-01T00:00Z"}, "to", "366"),
        ({"interval": "minute"}, "interval", "valid choice"),
        ({"from": "yesterday"}, "from", "format"),
        ({"to": "1900-01-01T00:00Z"}, "to", "between 2000 and 2100"),
    ],
)
def test_an_invalid_range_is_a_400(
    reviewer: APIClient, endpoints: dict, params: dict, field: str, message: str
) -> None:
    response = reviewer.get(url(endpoints["A"]), params)
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


def test_a_channel_key_sees_its_endpoints_only(endpoints: dict) -> None:
    channel = ChannelFactory(endpoints=[endpoints["A"]])
    client = key_client(issue_key(channel)[1])
    assert client.get(url(endpoints["A"])).status_code == 200
    assert client.get(url(endpoints["B"])).status_code == 404


def test_configuration_viewers_and_drivers_get_403(endpoints: dict) -> None:
    viewer = token_client(TokenFactory(user=UserFactory(view=["endpoints.endpoint"])))
    driver = token_client(TokenFactory(user=UserFactory(perms=["endpoints.drive_handover"])))
    assert viewer.get(url(endpoints["A"])).status_code == 403
    assert driver.get(url(endpoints["A"])).status_code == 403


def _queries(client: APIClient, endpoint: object, interval: str) -> int:
    params = {"from": "2026-06-01T00:00Z", "to": "2026-06-16T00:00Z", "interval": interval}
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(endpoint), params).status_code == 200
    return len(queries)


def test_the_same_queries_for_1_or_200_handovers(reviewer: APIClient, endpoints: dict) -> None:
    HandoverFactory(endpoint=endpoints["A"], started_at=NOW)
    reviewer.get(url(endpoints["A"]))  # warm caches (the token, permissions)
    one = _queries(reviewer, endpoints["A"], "hour"), _queries(reviewer, endpoints["A"], "day")
    for index in range(199):
        HandoverFactory(
            endpoint=endpoints["A"],
            started_at=NOW - timedelta(hours=index),
            status="ended",
            end_reason="expired",
            ended_at=NOW - timedelta(hours=index - 1),
        )
    assert (
        _queries(reviewer, endpoints["A"], "hour"),
        _queries(reviewer, endpoints["A"], "day"),
    ) == one
