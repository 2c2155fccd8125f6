"""Agent Availability from the sandbox's queue observations."""

from __future__ import annotations

import uuid

import pytest

from genesys.availability import agent_availability
from genesys.platform import errors
from tests.conftest import QUEUE_NAME
from tests.factories import EndpointFactory, GenesysSettingsFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        (
            {
                "agents_on_queue": 3,
                "agents_idle": 2,
                "conversations_waiting": 1,
                "estimated_wait_seconds": 42,
            },
            {
                "available": True,
                "agents_on_queue": 3,
                "agents_idle": 2,
                "conversations_waiting": 1,
                "estimated_wait_seconds": 42,
            },
        ),
        (
            {
                "agents_on_queue": 0,
                "agents_idle": 0,
                "conversations_waiting": 4,
                "estimated_wait_seconds": None,
            },
            {
                "available": False,
                "agents_on_queue": 0,
                "agents_idle": 0,
                "conversations_waiting": 4,
                "estimated_wait_seconds": None,
            },
        ),
        (
            {
                "agents_on_queue": 2,
                "agents_idle": 0,
                "agents_not_responding": 2,
                "conversations_waiting": 0,
                "estimated_wait_seconds": None,
            },
            {
                "available": False,
                "agents_on_queue": 2,
                "agents_idle": 0,
                "conversations_waiting": 0,
                "estimated_wait_seconds": None,
            },
        ),
        (
            {
                "agents_on_queue": 5,
                "agents_idle": 0,
                "conversations_waiting": 7,
                "estimated_wait_seconds": 600,
            },
            {
                "available": True,
                "agents_on_queue": 5,
                "agents_idle": 0,
                "conversations_waiting": 7,
                "estimated_wait_seconds": 600,
            },
        ),
    ],
)
def test_figures_for_several_queue_states(genesys, genesys_settings, queue, expected):
    genesys.put_queue(str(genesys_settings.queue_id), name=QUEUE_NAME, **queue)
    figures = agent_availability(genesys_settings.endpoint)
    assert {name: getattr(figures, name) for name in expected} == expected
    assert figures.checked_at is not None


def test_the_query_asks_for_the_endpoints_queue_and_chat(genesys, genesys_settings):
    agent_availability(genesys_settings.endpoint)
    [sent] = genesys.requests("/api/v2/analytics/queues/observations/query")
    predicates = {
        predicate["dimension"]: predicate["value"]
        for predicate in sent["json"]["filter"]["predicates"]
    }
    assert predicates == {"queueId": str(genesys_settings.queue_id), "mediaType": "chat"}
    assert set(sent["json"]["metrics"]) == {"oOnQueueUsers", "oWaiting"}


def test_a_burst_costs_genesys_one_call(genesys, genesys_settings):
    for _ in range(5):
        agent_availability(genesys_settings.endpoint)
    assert len(genesys.requests("/api/v2/analytics")) == 1


def test_the_cache_is_short_and_configurable(genesys, genesys_settings, settings):
    settings.AGENT_AVAILABILITY_CACHE_SECONDS = 0
    agent_availability(genesys_settings.endpoint)
    agent_availability(genesys_settings.endpoint)
    assert len(genesys.requests("/api/v2/analytics")) == 2


def test_settings_naming_another_queue_are_not_answered_from_the_cache(genesys, genesys_settings):
    agent_availability(genesys_settings.endpoint)
    other = uuid.uuid4()
    genesys.put_queue(str(other), name="Other queue")
    genesys_settings.queue_id = other
    genesys_settings.save()
    agent_availability(genesys_settings.endpoint)
    assert len(genesys.requests("/api/v2/analytics")) == 2


def test_endpoints_on_one_queue_cost_genesys_one_call(genesys, genesys_settings):
    others = [
        GenesysSettingsFactory(
            host=genesys_settings.host,
            queue_id=genesys_settings.queue_id,
            queue_name=genesys_settings.queue_name,
            node_authentication=genesys_settings.node_authentication,
        )
        for _ in range(3)
    ]
    for each in [genesys_settings, *others]:
        agent_availability(each.endpoint)
    assert len(genesys.requests("/api/v2/analytics/queues/observations/query")) == 1


def test_endpoint_without_genesys_is_refused_clearly():
    endpoint = EndpointFactory(name="Plain bot")
    with pytest.raises(errors.GenesysError, match="“Plain bot” does not hand over to Genesys"):
        agent_availability(endpoint)


def test_missing_node_authentication_is_explained(genesys_settings):
    genesys_settings.node_authentication = None
    genesys_settings.save()
    with pytest.raises(errors.GenesysError, match="Node Authentication is not set"):
        agent_availability(genesys_settings.endpoint)
