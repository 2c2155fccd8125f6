"""Queue updates through the real broker and worker, with the sandbox as Genesys: 50 users
waiting on one queue hear the estimated wait (events API and callbacks) for one Genesys
query per queue per interval."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from endpoints.handovers import tasks
from endpoints.handovers.services import handover_start
from endpoints.models import EventKind, Handover, HandoverEvent, HandoverStatus
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import wait_for
from tests.factories import CLIENT_SECRET, GenesysSettingsFactory, OAuth2ConnectionFactory
from tests.processes import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WAITING = 50
OBSERVATIONS = "/api/v2/analytics/queues/observations/query"


@pytest.fixture
def endpoint(e2e: Stack, sandbox: Any, channel: Any):
    sandbox.put_client(CLIENT_ID, client_secret=CLIENT_SECRET)  # for the queue's figures
    settings = GenesysSettingsFactory(
        organization_id=sandbox.organization_id,
        deployment_id=sandbox.deployment_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=OAuth2ConnectionFactory(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ),
        endpoint__callback_url=channel.url,
        endpoint__callback_signing_secret="e2e-signing-secret",
        endpoint__queue_update_seconds=30,
    )
    return settings.endpoint


def updates() -> list[HandoverEvent]:
    return list(HandoverEvent.objects.filter(kind=EventKind.QUEUE_UPDATE))


def test_fifty_waiting_users_hear_the_wait_for_one_query(e2e, sandbox, endpoint, channel):
    sandbox.put_queue(
        sandbox.queue_id,
        name=sandbox.queue_name,
        conversations_waiting=7,
        estimated_wait_seconds=95,
    )
    for n in range(WAITING):
        handover_start(endpoint=endpoint, user_id=f"user-{n}", session_id=str(uuid.uuid4()))
    wait_for(
        lambda: Handover.objects.filter(status=HandoverStatus.QUEUED).count() == WAITING,
        what="every handover waiting in the queue",
        stack=e2e,
        timeout=60,
    )
    sandbox.clear_requests()

    tasks.queue_updates_task.delay()  # the beat's tick, done by a worker

    wait_for(lambda: len(updates()) == WAITING, what="a queue update each", stack=e2e)
    assert len(sandbox.requests(OBSERVATIONS)) == 1
    assert {event.data["estimated_wait_seconds"] for event in updates()} == {95}
    # The sandbox counts the 50 conversations waiting on its queue with the 7 it was given.
    assert {event.data["conversations_waiting"] for event in updates()} == {7 + WAITING}
    wait_for(
        lambda: sum(event["kind"] == "queue_update" for event in channel.events()) == WAITING,
        what="the queue updates at the channel's callback",
        stack=e2e,
    )
