"""Queue updates (``endpoints.handovers.queue_updates``): waiting users hear the estimated
wait, at a cost of one Genesys query per queue, whatever the number of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from endpoints.handovers.queue_updates import _record, queue_figures, queue_updates_emit
from endpoints.models import EventKind, HandoverEvent
from tests.conftest import QUEUE_NAME
from tests.factories import EndpointFactory, GenesysSettingsFactory, HandoverFactory

OBSERVATIONS = "/api/v2/analytics/queues/observations/query"
ESTIMATES = "/api/v2/routing/queues/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoints_on_one_queue(genesys_settings):
    """Two endpoints with queue updates every 30 s, handing over to the same queue."""
    other = GenesysSettingsFactory(
        host=genesys_settings.host,
        queue_id=genesys_settings.queue_id,
        queue_name=QUEUE_NAME,
        node_authentication=genesys_settings.node_authentication,
    )
    endpoints = [genesys_settings.endpoint, other.endpoint]
    for endpoint in endpoints:
        endpoint.queue_update_seconds = 30
        endpoint.save()
    return endpoints


def updates(handover=None) -> list[HandoverEvent]:
    events = HandoverEvent.objects.filter(kind=EventKind.QUEUE_UPDATE)
    return list(events.filter(handover=handover) if handover else events)


def test_fifty_waiting_users_cost_one_query_per_queue(genesys, endpoints_on_one_queue):
    waiting = [HandoverFactory(endpoint=endpoints_on_one_queue[n % 2]) for n in range(50)]

    report = queue_updates_emit()

    assert report.emitted == 50
    assert {event.handover_id for event in updates()} == {handover.pk for handover in waiting}
    [event] = updates(waiting[0])
    assert event.data["estimated_wait_seconds"] == 42
    assert event.data["conversations_waiting"] == 1
    assert event.data["position"] is None
    assert len(genesys.requests(OBSERVATIONS)) == 1
    estimates = [r for r in genesys.requests(ESTIMATES) if "estimatedwaittime" in r["path"]]
    assert len(estimates) == 1


def test_nothing_is_repeated_until_the_figures_change_or_the_interval_passes(
    genesys, endpoints_on_one_queue
):
    handover = HandoverFactory(endpoint=endpoints_on_one_queue[0])
    queue_updates_emit()

    assert queue_updates_emit().emitted == 0  # unchanged, and answered from the cache
    assert len(genesys.requests(OBSERVATIONS)) == 1
    later = timezone.now() + timedelta(seconds=31)
    assert queue_updates_emit(now=later).emitted == 1  # the interval has passed

    genesys.put_queue(
        str(endpoints_on_one_queue[0].genesys_settings.queue_id),
        name=QUEUE_NAME,
        conversations_waiting=4,
        estimated_wait_seconds=120,
    )
    cache.clear()  # the cache window has passed
    assert queue_updates_emit().emitted == 1  # changed: at once
    assert [event.data["estimated_wait_seconds"] for event in updates(handover)] == [42, 42, 120]


def test_only_waiting_handovers_of_endpoints_with_updates_on_get_them(
    genesys, endpoints_on_one_queue, genesys_settings
):
    active = HandoverFactory(endpoint=endpoints_on_one_queue[0], status="active")
    off = HandoverFactory(endpoint=EndpointFactory(handover_provider="genesys"))
    assert queue_updates_emit().emitted == 0
    assert updates(active) == []
    assert updates(off) == []


def test_two_beats_at_once_tell_the_user_once(genesys, endpoints_on_one_queue):
    handover = HandoverFactory(endpoint=endpoints_on_one_queue[0])
    figures = queue_figures(handover.endpoint)
    now = timezone.now()
    assert _record(handover.pk, figures, now) is True
    assert _record(handover.pk, figures, now) is False
    assert len(updates(handover)) == 1


def test_an_agent_joining_ends_the_updates(genesys, endpoints_on_one_queue):
    handover = HandoverFactory(endpoint=endpoints_on_one_queue[0])
    figures = queue_figures(handover.endpoint)
    handover.status = "active"
    handover.save()
    assert _record(handover.pk, figures, timezone.now()) is False


def test_a_provider_that_cannot_tell_is_skipped_and_logged(genesys, caplog):
    endpoint = EndpointFactory(handover_provider="none", queue_update_seconds=30)
    HandoverFactory(endpoint=endpoint, provider="none")
    report = queue_updates_emit()
    assert (report.emitted, report.unavailable) == (0, 1)
    assert "Queue updates: no figures for endpoint" in caplog.text


@pytest.mark.parametrize("value", [1, 9, 3601])
def test_an_interval_out_of_range_is_refused_with_the_range(value):
    endpoint = EndpointFactory.build(queue_update_seconds=value)
    with pytest.raises(
        ValidationError, match="Give 0 \\(off\\) or a number of seconds from 10 to 3600"
    ):
        endpoint.full_clean(exclude=["handover_provider"])
