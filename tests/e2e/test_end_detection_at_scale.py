"""End detection at scale through the real processes: the relay (``manage.py relay``) holds
the Notifications channels, the worker delivers the ends to the channel's callback, and the
sandbox keeps Genesys's limits (1,000 topics a channel, a channel limit per OAuth client).

The handovers are written in bulk as the worker leaves them after starting each (an Open
Messaging conversation id and user id, status queued), their conversations made in bulk at
the sandbox: 1,500 starts through the API would take minutes and are not what is tested
here (the throughput benchmark measures them; ``test_open_messaging.py`` starts each kind).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from endpoints.models import Handover, HandoverStatus
from genesys.models import OAuth2Connection, OpenMessagingConversation
from tests.e2e.conftest import wait_for
from tests.factories import HandoverFactory, OpenMessagingSettingsFactory
from tests.processes import Process, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHANNELS = "/api/v2/notifications/channels"
READ = "/api/v2/conversations/messages/"
#: Each phase's bound. At load 6 (other suites on the 2 cores) the phases took 14 s (the
#: relay's first read of each conversation), 37 s (the ends) and 23 s (the last callbacks).
LONG = 240
OPEN = 1500
#: Genesys's per-client limit is 20 channels; 2 on both sides make 1,500 conversations need
#: every channel filled to its 1,000 topics, and any extra channel an eviction.
CHANNEL_LIMIT = 2


def open_handovers(sandbox: Any, connection: OAuth2Connection, count: int, **endpoint: Any):
    """``count`` open Open Messaging handovers, their Genesys conversations waiting in the
    sandbox; the conversation ids."""
    om_settings = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id,
        node_authentication=connection,
        **{f"endpoint__{name}": value for name, value in endpoint.items()},
    )
    user_ids = [f"hp-scale-{n}" for n in range(count)]
    conversation_ids = sandbox.om_start_conversations(user_ids)
    handovers = Handover.objects.bulk_create(
        HandoverFactory.build(
            endpoint=om_settings.endpoint, provider="genesys_om", status=HandoverStatus.QUEUED
        )
        for _ in range(count)
    )
    OpenMessagingConversation.objects.bulk_create(
        OpenMessagingConversation(handover=h, from_id=user_id, conversation_id=cid)
        for h, user_id, cid in zip(handovers, user_ids, conversation_ids, strict=True)
    )
    return conversation_ids


def channels(sandbox: Any) -> list[dict]:
    return sandbox.state()["notification_channels"]


@pytest.fixture
def relay(e2e: Stack) -> Iterator[Process]:
    """The only relay replica for this test: the session's stopped (the next test's ``e2e``
    starts it again), one allowed ``CHANNEL_LIMIT`` channels per connection in its place."""
    for running in e2e.relays:
        running.stop()
    relay = e2e.start_relay(
        "scale",
        env={
            "GENESYS_NOTIFICATIONS_MAX_CHANNELS": str(CHANNEL_LIMIT),
            # The defaults, not the other e2e tests' fast ones: polling 1,500 handovers five
            # times a second costs more CPU than the ends themselves.
            "RELAY_POLL_SECONDS": "1.0",
            "RELAY_OWNERSHIP_LEASE_SECONDS": "15",
            # Persistent connections (README, "Scaling out"): without them each of the
            # 1,500 reads and ends opens a PostgreSQL connection, and the test takes twice
            # as long (165 s instead of 90 s at load 6).
            "DATABASE_URL": e2e.env["DATABASE_URL"] + "?conn_max_age=600",
        },
    )
    yield relay
    relay.stop()
    e2e.relays.remove(relay)


def callbacks(channel: Any) -> Counter[str]:
    """The events the channel's callback received, by kind, each ``(handover, seq)`` once: a
    callback can arrive twice (a retry after a lost or late answer; README, "Callbacks"),
    and under a heavy load a few do."""
    unique = {(event["handover"], event["seq"]): event["kind"] for event in channel.events()}
    return Counter(unique.values())


def test_1500_open_handovers_all_end_when_their_agents_end_them(
    e2e, relay, genesys, connection, channel
):
    genesys.settings(notification_channel_limit=CHANNEL_LIMIT)
    conversation_ids = open_handovers(
        genesys, connection, OPEN, callback_url=channel.url, callback_signing_secret="e2e-secret"
    )
    wait_for(
        lambda: (
            sorted((c["topics"], c["connected"]) for c in channels(genesys))
            == [(OPEN - 1000, 1), (1000, 1)]
        ),
        what="two channels, 1,000 and 500 topics",
        stack=e2e,
        timeout=90,
    )
    # After connecting, the relay reads each conversation once (what happened before it
    # subscribed); the agents end them once it is listening, as in a relay running a while.
    wait_for(
        lambda: genesys.request_count(READ, method="GET") >= OPEN,
        what="the relay's read of each conversation",
        stack=e2e,
        timeout=LONG,
        interval=0.5,
    )
    for start in range(0, OPEN, 250):
        # Only the ends are published: the relay records 1,500 ends, not 1,500 joins too.
        ended = genesys.om_agents_end(conversation_ids[start : start + 250], announce_join=False)
        assert ended == 250
    wait_for(
        lambda: not Handover.objects.exclude(status=HandoverStatus.ENDED).exists(),
        what="every handover ended",
        stack=e2e,
        timeout=LONG,
        interval=0.5,
    )
    assert set(Handover.objects.values_list("end_reason", flat=True)) == {"agent_left"}
    # The worker delivered each handover's end to the channel's callback.
    wait_for(
        lambda: callbacks(channel)["ended"] >= OPEN,
        what="1,500 ended callbacks",
        stack=e2e,
        timeout=LONG,
        interval=0.5,
    )
    assert callbacks(channel) == {"ended": OPEN}
    ended = {event["handover"] for event in channel.events()}
    assert ended == {
        str(public_id) for public_id in Handover.objects.values_list("public_id", flat=True)
    }
    state = genesys.state()
    assert state["notification_channels_evicted"] == 0  # the relay kept within the limit
    assert genesys.request_count(CHANNELS, method="POST") == CHANNEL_LIMIT
    assert relay.alive()
    assert relay.starts == 1


def test_a_changed_client_secret_is_used_by_the_running_relay(
    e2e, relay, genesys, connection, channel
):
    """The OAuth client's secret changes in Genesys and in the connection: the relay
    process's next channel authenticates with the new one, without a restart."""
    [cid] = open_handovers(
        genesys, connection, 1, callback_url=channel.url, callback_signing_secret="e2e-secret"
    )
    [first] = wait_for(
        lambda: [c for c in channels(genesys) if c["connected"]],
        what="the first channel",
        stack=e2e,
    )
    genesys.put_client(connection.client_id, client_secret="the-rotated-client-secret")
    genesys.expire_tokens()  # the old secret's tokens no longer work either
    connection = OAuth2Connection.objects.get(pk=connection.pk)
    connection.client_secret = "the-rotated-client-secret"
    connection.save()
    wait_for(
        lambda: [c for c in channels(genesys) if c["id"] != first["id"] and c["connected"]],
        what="a new channel, created and connected with the new secret",
        stack=e2e,
    )
    genesys.om_agents_end([cid])
    wait_for(
        lambda: Handover.objects.get().status == HandoverStatus.ENDED,
        what="the handover ended through the new channel",
        stack=e2e,
    )
    wait_for(lambda: callbacks(channel)["ended"] == 1, what="the end's callback", stack=e2e)
    assert relay.alive()
    assert relay.starts == 1
