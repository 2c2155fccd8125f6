"""The overview's figures (``endpoints.overview``) against seeded handovers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints.models import Handover
from endpoints.overview import STACK, overview, series
from tests.factories import EndpointFactory, HandoverFactory
from tests.overview_seed import EXPECTED, S, seed

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 12, 30, tzinfo=UTC)


@pytest.fixture
def endpoints() -> dict:
    return {"A": EndpointFactory(name="Endpoint A"), "B": EndpointFactory(name="Endpoint B")}


def test_now_figures(endpoints: dict) -> None:
    seed(NOW, endpoints)
    now = overview(now=NOW).now
    for name in ("starting", "queued", "active", "longest_wait", "median_wait"):
        assert getattr(now, name) == EXPECTED[name], name
    assert (now.failed_messages, now.failed_callbacks) == (1, 1)
    assert now.open == 4


@pytest.mark.parametrize("label", ["today", "last 7 days"])
def test_window_figures(endpoints: dict, label: str) -> None:
    seed(NOW, endpoints)
    window = next(w for w in overview(now=NOW).windows if w.label == label)
    expected = EXPECTED[label]
    assert window.started == expected["started"]
    assert window.reached_agent == expected["reached_agent"]
    assert window.ended == expected["ended"]
    assert window.expired == expected["ended"]["expired"]
    assert (window.time_to_agent.median, window.time_to_agent.p90) == expected["time_to_agent"]
    assert (window.time_to_reply.median, window.time_to_reply.p90) == expected["time_to_reply"]


def test_one_endpoint_only(endpoints: dict) -> None:
    seed(NOW, endpoints)
    figures = overview(endpoints["B"].pk, now=NOW)
    today = figures.windows[0]
    assert (today.started, today.reached_agent, today.ended["staff_ended"]) == (1, 1, 1)
    assert (today.time_to_agent.median, today.time_to_agent.p90) == (30 * S, 30 * S)
    assert today.time_to_reply.median is None
    assert (figures.now.open, figures.now.failed_messages) == (0, 0)


def test_the_charts_stack_by_end_reason(endpoints: dict) -> None:
    seed(NOW, endpoints)
    figures = overview(now=NOW)
    assert len(figures.hours) == 24
    assert figures.hours[-1].start == NOW.replace(minute=0)
    hours = {b.start.hour: b.counts for b in figures.hours if b.total}
    assert hours == {
        12: {**dict.fromkeys(STACK, 0), "open": 4},
        11: {**dict.fromkeys(STACK, 0), "staff_ended": 1},
        10: {**dict.fromkeys(STACK, 0), "agent_left": 1},
        9: {**dict.fromkeys(STACK, 0), "expired": 1},
    }
    assert len(figures.days) == 30
    days = {b.start.date(): b.total for b in figures.days if b.total}
    assert days == {
        NOW.date(): 7,
        (NOW - timedelta(days=3)).date(): 1,
        (NOW - timedelta(days=10)).date(): 1,
    }


def test_an_empty_database() -> None:
    figures = overview(now=NOW)
    assert figures.now.open == 0
    assert figures.now.longest_wait is None
    assert figures.windows[1].time_to_agent.median is None
    assert sum(b.total for b in figures.days) == 0


def test_a_day_series_over_a_range() -> None:
    since = NOW - timedelta(days=3)
    buckets = series(Handover.objects.all(), since, NOW, "day")
    assert [b.start.day for b in buckets] == [12, 13, 14, 15]


def _queries(endpoint_id: int | None) -> int:
    with CaptureQueriesContext(connection) as queries:
        overview(endpoint_id, now=NOW)
    return len(queries)


def test_the_same_queries_for_1_or_200_handovers(endpoints: dict) -> None:
    seed(NOW, endpoints)
    few = _queries(None), _queries(endpoints["A"].pk)
    for index in range(200):
        HandoverFactory(
            endpoint=endpoints["A"],
            started_at=NOW - timedelta(minutes=index * 7),
            status="ended",
            end_reason=STACK[index % 5],
            ended_at=NOW - timedelta(minutes=index * 7 - 1),
        )
    assert (_queries(None), _queries(endpoints["A"].pk)) == few
    # PostgreSQL takes the percentiles in SQL; SQLite reads the recent durations instead.
    assert few[0] <= (4 if connection.vendor == "postgresql" else 9)
