"""End detection: a channel rebuilt before its lifetime, and a channel's catch-up beside its
receive loop, with the relay in this process against the sandbox. The 1,500 open handovers
and the rotated client secret run through the relay process:
``tests/e2e/test_end_detection_at_scale.py``."""

from __future__ import annotations

import pytest

from endpoints.models import EventKind, Handover, HandoverEvent, HandoverStatus
from genesys.models import OpenMessagingConversation
from genesys.relay import GenesysRelay
from tests.e2e.conftest import wait_for
from tests.factories import HandoverFactory, OpenMessagingSettingsFactory
from tests.genesys.test_relay import running

pytestmark = pytest.mark.django_db(transaction=True)

CHANNELS = "/api/v2/notifications/channels"


def open_handovers(sandbox, connection, count: int) -> list[str]:
    """``count`` open Open Messaging handovers, their Genesys conversations waiting in the
    sandbox (made in bulk on both sides); the conversation ids."""
    om_settings = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id, node_authentication=connection
    )
    user_ids = [f"hp-scale-{n}" for n in range(count)]
    conversation_ids = sandbox.om_start_conversations(user_ids)
    handovers = Handover.objects.bulk_create(
        HandoverFactory.build(endpoint=om_settings.endpoint, provider="genesys_om")
        for _ in range(count)
    )
    OpenMessagingConversation.objects.bulk_create(
        OpenMessagingConversation(handover=h, from_id=user_id, conversation_id=cid)
        for h, user_id, cid in zip(handovers, user_ids, conversation_ids, strict=True)
    )
    return conversation_ids


def channels(sandbox) -> list[dict]:
    return sandbox.state()["notification_channels"]


def test_a_channel_is_rebuilt_before_its_lifetime_ends_and_catches_up(
    genesys, connection, settings
):
    settings.GENESYS_NOTIFICATIONS_CHANNEL_LIFETIME_SECONDS = 1.0
    [cid] = open_handovers(genesys, connection, 1)
    read = f"/api/v2/conversations/messages/{cid}"

    with running(GenesysRelay(poll_seconds=0.1, threads=2)):
        wait_for(
            lambda: genesys.request_count(CHANNELS, method="POST") >= 3,
            what="a third channel",
            timeout=20,
        )
        assert genesys.request_count(read, method="GET") >= 2  # caught up on each

    assert Handover.objects.get().status != HandoverStatus.ENDED


def test_catching_up_on_many_conversations_does_not_hold_up_the_channels_frames(
    genesys, connection
):
    """After subscribing, the channel reads every new conversation (what happened before):
    beside its receive loop, a few at a time. An agent joining the conversation read last
    is recorded from its frame while the reads go on (they ran one after another inside
    the loop, no frame read until the last), and once only when its read comes after."""
    count = 120
    conversation_ids = open_handovers(genesys, connection, count)
    last = sorted(conversation_ids)[-1]  # the catch-up reads in order: this one last
    reads = "/api/v2/conversations/messages/"
    genesys.add_fault(reads, method="GET", delay_seconds=0.1, for_seconds=120)
    joined = HandoverEvent.objects.filter(
        handover__genesys_om__conversation_id=last, kind=EventKind.AGENT_JOINED
    )

    with running(GenesysRelay(poll_seconds=0.5, threads=8)):
        wait_for(lambda: genesys.request_count(reads, "GET"), what="the catch-up's first read")
        genesys.om_agent_join(last, "Alex Agent")
        wait_for(joined.exists, what="the agent's join", timeout=60)
        reads_by_then = genesys.request_count(reads, "GET")
        wait_for(
            lambda: genesys.request_count(reads, "GET") >= count,
            what="every conversation read",
            timeout=60,
        )

    assert reads_by_then < count
    assert joined.count() == 1
    assert HandoverEvent.objects.count() == 1  # nothing else happened in the others
