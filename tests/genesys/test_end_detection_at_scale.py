"""End detection at scale: the relay, in this process, against the sandbox (which keeps
Genesys's limits: 1,000 topics a channel, a channel limit per OAuth client)."""

from __future__ import annotations

import pytest

from endpoints.models import EventKind, Handover, HandoverEvent, HandoverStatus
from genesys.models import OAuth2Connection, OpenMessagingConversation
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


def test_1500_open_handovers_all_end_when_their_agents_end_them(genesys, connection, settings):
    # Two channels allowed on both sides: 1,500 conversations need both, 1,000 topics each.
    genesys.settings(notification_channel_limit=2)
    settings.GENESYS_NOTIFICATIONS_MAX_CHANNELS = 2
    settings.GENESYS_TRANSFER_GRACE_SECONDS = 30.0  # ends come from the customer's disconnect
    conversation_ids = open_handovers(genesys, connection, 1500)

    with running(GenesysRelay(poll_seconds=1.0, threads=8)):
        wait_for(
            lambda: (
                sorted((c["topics"], c["connected"]) for c in channels(genesys))
                == [(500, 1), (1000, 1)]
            ),
            what="two channels, 1,000 and 500 topics",
            timeout=60,
        )
        for start in range(0, len(conversation_ids), 250):
            # Only the ends are published: the relay records 1,500 ends, not 1,500 joins too.
            ended = genesys.om_agents_end(
                conversation_ids[start : start + 250], announce_join=False
            )
            assert ended == 250
        wait_for(
            lambda: not Handover.objects.exclude(status=HandoverStatus.ENDED).exists(),
            what="every handover ended",
            timeout=120,  # ~30 s on an idle 2-core machine; others' tests may share it
            interval=0.5,
        )
        state = genesys.state()

    assert set(Handover.objects.values_list("end_reason", flat=True)) == {"agent_left"}
    assert state["notification_channels_evicted"] == 0  # the relay kept within the limit
    assert genesys.request_count(CHANNELS, method="POST") == 2


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


def test_a_changed_client_secret_is_used_by_the_running_relay(genesys, connection, settings):
    """The OAuth client's secret changes in Genesys and in the connection: the next channel
    authenticates with the new one, no restart."""
    [cid] = open_handovers(genesys, connection, 1)

    with running(GenesysRelay(poll_seconds=0.1, threads=2)):
        [first] = wait_for(lambda: channels(genesys), what="the first channel")
        genesys.put_client(connection.client_id, client_secret="the-rotated-client-secret")
        genesys.expire_tokens()  # the old secret's tokens no longer work either
        connection = OAuth2Connection.objects.get(pk=connection.pk)
        connection.client_secret = "the-rotated-client-secret"
        connection.save()
        wait_for(
            lambda: [c for c in channels(genesys) if c["id"] != first["id"] and c["connected"]],
            what="a new channel, created and connected with the new secret",
        )
        genesys.om_agents_end([cid])
        wait_for(
            lambda: Handover.objects.get().status == HandoverStatus.ENDED,
            what="the handover ended through the new channel",
        )


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
