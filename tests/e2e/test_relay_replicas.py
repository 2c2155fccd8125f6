"""Two relay replicas divide the open web chat handovers: each conversation's event stream is
held once, each agent event recorded once, and a killed replica's conversations are taken
over within a lease."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from endpoints.models import EventKind, Handover, HandoverEvent, RelayReplica
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import FAST, wait_for
from tests.e2e.test_webchat_relay import conversation_of, start
from tests.factories import GenesysSettingsFactory, OAuth2ConnectionFactory
from tests.processes import Process, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEASE = float(FAST["RELAY_OWNERSHIP_LEASE_SECONDS"])
POLL = float(FAST["RELAY_POLL_SECONDS"])
HANDOVERS = 6


@pytest.fixture
def endpoint(e2e: Stack, sandbox: Any):
    settings = GenesysSettingsFactory(
        organization_id=sandbox.organization_id,
        deployment_id=sandbox.deployment_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    )
    return settings.endpoint


@pytest.fixture
def second_relay(e2e: Stack) -> Iterator[Process]:
    """A second replica beside the session's, gone again after the test."""
    relay = e2e.start_relay("second")
    yield relay
    relay.stop()
    e2e.relays.remove(relay)


def token_of(relay: Process) -> str:
    assert relay.process is not None
    return wait_for(
        lambda: RelayReplica.objects.filter(pid=relay.process.pid).first(),
        what=f"the replica row of {relay.name}",
    ).token


def owners(handovers: list[Handover]) -> Counter[str]:
    return Counter(
        Handover.objects.filter(pk__in=[h.pk for h in handovers]).values_list(
            "relay_owner", flat=True
        )
    )


def held_once(sandbox: Any, cids: list[str]) -> bool:
    """Every conversation's event stream open exactly once, and no other."""
    state = sandbox.state()
    return state["open_streams"] == len(cids) and state["open_streams_by_conversation"] == {
        cid: 1 for cid in cids
    }


def count(handover: Handover, kind: str) -> int:
    return HandoverEvent.objects.filter(handover=handover, kind=kind).count()


def open_handovers(e2e: Stack, sandbox: Any, endpoint: Any) -> tuple[list[Handover], list[str]]:
    handovers = [start(endpoint) for _ in range(HANDOVERS)]
    return handovers, [conversation_of(h, sandbox, e2e)["id"] for h in handovers]


def test_two_replicas_hold_each_stream_once_and_take_over_a_killed_ones(
    e2e, sandbox, endpoint, second_relay
):
    first, second = token_of(e2e.relays[0]), token_of(second_relay)
    handovers, cids = open_handovers(e2e, sandbox, endpoint)

    wait_for(
        lambda: set(owners(handovers)) == {first, second} and held_once(sandbox, cids),
        what="the six streams divided between the two replicas, each held once",
        stack=e2e,
    )
    assert sum(owners(handovers).values()) == HANDOVERS
    time.sleep(5 * POLL)  # a few polls later, still so
    assert held_once(sandbox, cids)

    # One conversation of each replica: the agent joins, types and writes.
    by_owner = {owner: handover for handover, owner in owners_by_handover(handovers).items()}
    for handover in (by_owner[first], by_owner[second]):
        cid = handover.genesys_webchat.conversation_id
        sandbox.agent_join(cid)
        sandbox.agent_typing(cid)
        sandbox.agent_send(cid, "Hello from the agent")
    for handover in (by_owner[first], by_owner[second]):
        wait_for(
            lambda h=handover: count(h, EventKind.AGENT_MESSAGE) * count(h, EventKind.AGENT_TYPING),
            what="the agent's typing and message",
            stack=e2e,
        )
    time.sleep(5 * POLL)  # what a second holder would have recorded by now
    for handover in (by_owner[first], by_owner[second]):
        assert count(handover, EventKind.AGENT_MESSAGE) == 1
        assert count(handover, EventKind.AGENT_TYPING) == 1

    # The second replica dies: nothing is released, its leases run out.
    taken = by_owner[second]
    second_relay.kill()
    killed_at = time.monotonic()
    wait_for(
        lambda: owners(handovers) == {first: HANDOVERS} and held_once(sandbox, cids),
        what="the first replica holding all six",
        stack=e2e,
    )
    assert time.monotonic() - killed_at < LEASE + POLL + 3  # a margin for a busy machine

    sandbox.agent_send(taken.genesys_webchat.conversation_id, "After the crash")
    wait_for(lambda: count(taken, EventKind.AGENT_MESSAGE) == 2, what="the message", stack=e2e)
    time.sleep(5 * POLL)
    texts = HandoverEvent.objects.filter(handover=taken, kind=EventKind.AGENT_MESSAGE)
    assert list(texts.order_by("seq").values_list("data__text", flat=True)) == [
        "Hello from the agent",
        "After the crash",
    ]


def owners_by_handover(handovers: list[Handover]) -> dict[Handover, str]:
    owner = dict(
        Handover.objects.filter(pk__in=[h.pk for h in handovers]).values_list("pk", "relay_owner")
    )
    return {handover: owner[handover.pk] for handover in handovers}


def test_a_replica_stopped_cleanly_releases_its_handovers_at_once(
    e2e, sandbox, endpoint, second_relay
):
    first, second = token_of(e2e.relays[0]), token_of(second_relay)
    handovers, cids = open_handovers(e2e, sandbox, endpoint)
    wait_for(
        lambda: set(owners(handovers)) == {first, second} and held_once(sandbox, cids),
        what="the streams divided between the two replicas",
        stack=e2e,
    )

    second_relay.stop()  # SIGTERM

    assert "released its handovers" in second_relay.log()
    assert not RelayReplica.objects.filter(token=second).exists()
    assert second not in owners(handovers)
    wait_for(
        lambda: owners(handovers) == {first: HANDOVERS} and held_once(sandbox, cids),
        what="the first replica holding all six",
        stack=e2e,
    )
