"""The Genesys relay (``genesys.relay``): which handovers it holds, and how."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from endpoints.handovers import relay_ownership
from endpoints.handovers.services import handover_start
from endpoints.handovers.tasks import handover_start_task
from endpoints.models import EventKind, Handover, HandoverEvent
from genesys.models import OpenMessagingConversation, OpenMessagingSettings, WebChatConversation
from genesys.open_messaging.transport import watched_conversations
from genesys.relay import GenesysRelay, SkippedRows, wanted_streams
from tests.e2e.conftest import wait_for
from tests.factories import GenesysSettingsFactory, HandoverFactory, OpenMessagingSettingsFactory

pytestmark = pytest.mark.django_db

JWT = "planted-web-chat-jwt-5d1e"


def webchat_handover(endpoint, n: int) -> Handover:
    handover = HandoverFactory(endpoint=endpoint, provider="genesys", status="queued")
    WebChatConversation.objects.create(
        handover=handover,
        conversation_id=f"conversation-{n}",
        member_id=f"member-{n}",
        jwt=f"{JWT}-{n}",
        event_stream_uri=f"wss://streaming.mypurecloud.de/{n}",
    )
    return handover


def om_handover(om_settings, n: int) -> Handover:
    handover = HandoverFactory(endpoint=om_settings.endpoint, provider="genesys_om")
    OpenMessagingConversation.objects.create(
        handover=handover, from_id=f"from-{n}", conversation_id=f"om-conversation-{n}"
    )
    return handover


def relay_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("genesys.relay")]


# One unreadable row


def test_a_stream_whose_jwt_cannot_be_read_is_skipped_and_logged_without_a_secret(
    settings, new_key, caplog
):
    endpoint = GenesysSettingsFactory().endpoint
    unreadable = webchat_handover(endpoint, 1)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the key that encrypted its JWT is gone
    readable = webchat_handover(endpoint, 2)
    with caplog.at_level(logging.ERROR):
        wanted = wanted_streams({})

    assert set(wanted) == {str(readable.pk)}
    assert wanted[str(readable.pk)][1].conversation_id == "conversation-2"
    [message] = relay_errors(caplog)
    assert f"handover {unreadable.pk} skipped" in message
    assert "WebChatConversation.jwt" in message
    assert JWT not in caplog.text


def test_a_watched_conversation_whose_settings_cannot_be_read_is_skipped(caplog):
    om_settings = OpenMessagingSettingsFactory()
    broken_settings = OpenMessagingSettingsFactory(
        node_authentication=om_settings.node_authentication
    )
    good = om_handover(om_settings, 1)
    broken = om_handover(broken_settings, 2)
    # No region has this host (written past the form's validation).
    OpenMessagingSettings.objects.filter(pk=broken_settings.pk).update(host="gone.example")
    with caplog.at_level(logging.ERROR):
        wanted = watched_conversations()

    connection = om_settings.node_authentication
    assert list(wanted) == [(connection.pk, "mypurecloud.de")]
    assert wanted[(connection.pk, "mypurecloud.de")][2] == {"om-conversation-1"}
    [message] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"handover {broken.pk} skipped" in message
    assert good.pk != broken.pk


def test_a_skipped_handover_is_logged_once_while_it_stays_unreadable(caplog):
    skipped = SkippedRows()
    with caplog.at_level(logging.ERROR):
        for _ in range(3):  # three polls
            skipped(7, KeyError("gone.example"))
        skipped(8, KeyError("gone.example"))
    assert relay_errors(caplog) == [
        "Genesys relay: handover 7 skipped, its row cannot be read: KeyError",
        "Genesys relay: handover 8 skipped, its row cannot be read: KeyError",
    ]


# The relay loop, in this process


@contextlib.contextmanager
def running(relay: GenesysRelay) -> Iterator[None]:
    """``relay`` on an event loop of its own thread, stopped (and waited for) at the end."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(relay.run(stop),))
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()
        assert not thread.is_alive()


def webchat_started(sandbox, connection) -> Handover:
    genesys_settings = GenesysSettingsFactory(
        organization_id=sandbox.organization_id,
        deployment_id=sandbox.deployment_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=connection,
    )
    handover, _ = handover_start(endpoint=genesys_settings.endpoint, user_id="u", session_id="s")
    handover_start_task.apply(args=[handover.pk])
    return Handover.objects.select_related("genesys_webchat").get(pk=handover.pk)


@pytest.mark.django_db(transaction=True)
def test_a_slow_genesys_call_does_not_delay_another_handovers_events(genesys, connection, settings):
    """One Notifications API call takes 4 s; an agent joining a web chat meanwhile is
    recorded at once (all blocking work shared one thread: it waited the 4 s)."""
    settings.GENESYS_HTTP_READ_TIMEOUT = 10.0  # the slow answer is waited for, not retried
    settings.RELAY_POLL_SECONDS = 0.1
    webchat = webchat_started(genesys, connection)
    om_handover(OpenMessagingSettingsFactory(node_authentication=connection), 1)
    slow = "/api/v2/notifications/channels"
    genesys.add_fault(slow, method="POST", delay_seconds=4)

    with running(GenesysRelay(poll_seconds=0.1, threads=4)):
        wait_for(lambda: genesys.state()["open_streams"] == 1, what="the web chat's stream")
        wait_for(lambda: genesys.requests(slow), what="the slow channel creation")
        slow_started = time.monotonic()
        genesys.agent_join(webchat.genesys_webchat.conversation_id, name="Alex Agent")
        wait_for(
            lambda: HandoverEvent.objects.filter(kind=EventKind.AGENT_JOINED).exists(),
            what="agent_joined",
        )
        recorded_after = time.monotonic() - slow_started
        sockets = genesys.state()["open_notification_sockets"]

    assert recorded_after < 2.0
    assert sockets == 0  # the slow call had not returned yet


@pytest.mark.django_db(transaction=True)
def test_a_replica_that_cannot_renew_its_leases_lets_its_streams_go(
    genesys, connection, settings, monkeypatch
):
    """After a lease without a successful poll another replica has taken the handovers over:
    holding on would hold them twice."""
    settings.RELAY_OWNERSHIP_LEASE_SECONDS = 1.0
    webchat = webchat_started(genesys, connection)
    relay = GenesysRelay(poll_seconds=0.1, threads=2)

    with running(relay):
        wait_for(lambda: genesys.state()["open_streams"] == 1, what="the stream")
        assert Handover.objects.get(pk=webchat.pk).relay_owner == relay.token

        def database_gone(**kwargs: object) -> set[int]:
            raise ConnectionError("the database is unreachable")

        monkeypatch.setattr(relay_ownership, "poll", database_gone)
        failing_since = time.monotonic()
        wait_for(lambda: genesys.state()["open_streams"] == 0, what="the stream to close")
        assert time.monotonic() - failing_since > 0.8  # not at the first failure: a lease


# Many streams, one relay

STREAMS = 300  # three times aiohttp's default connection limit, which capped them at 100


@pytest.mark.django_db(transaction=True)
def test_one_relay_holds_every_stream_and_polls_nothing_while_idle(genesys, settings):
    """300 web chats: every event stream is held (they shared one session limited to 100
    connections: the 101st waited, timed out and fell back to polling, whose reads waited
    in the same pool); once caught up the relay sends Genesys nothing while nothing
    happens; an agent joining the last conversation reaches its handover."""
    settings.GENESYS_STREAM_CONNECTION_LIMIT = 0
    genesys.settings(heartbeat_seconds=30)
    endpoint = GenesysSettingsFactory(
        organization_id=genesys.organization_id,
        deployment_id=genesys.deployment_id,
        queue_id=genesys.queue_id,
        queue_name=genesys.queue_name,
    ).endpoint
    chats = [genesys.create_chat(f"Guest {n}") for n in range(STREAMS)]
    handovers = HandoverFactory.create_batch(
        STREAMS, endpoint=endpoint, provider="genesys", status="queued"
    )
    WebChatConversation.objects.bulk_create(
        WebChatConversation(
            handover=handover,
            conversation_id=chat["id"],
            member_id=chat["member"]["id"],
            jwt=chat["jwt"],
            event_stream_uri=chat["eventStreamUri"],
        )
        for handover, chat in zip(handovers, chats, strict=True)
    )

    with running(GenesysRelay(poll_seconds=0.5, threads=4)):
        wait_for(
            lambda: genesys.state()["open_streams"] == STREAMS, timeout=120, what="every stream"
        )
        # Each stream's catch-up after its connect: one member list and one history read.
        wait_for(
            lambda: (
                genesys.request_count("/api/v2/webchat/guest/conversations", "GET") >= 2 * STREAMS
            ),
            timeout=60,
            what="every catch-up",
        )
        time.sleep(1)  # a read in flight lands now
        genesys.clear_requests()
        time.sleep(3)  # idle
        idle_gets = genesys.request_count("/api/v2/", "GET")
        genesys.agent_join(chats[-1]["id"], name="Alex Agent")
        wait_for(
            lambda: HandoverEvent.objects.filter(
                handover=handovers[-1], kind=EventKind.AGENT_JOINED
            ).exists(),
            what="the agent's join",
        )
        held = genesys.state()["open_streams"]

    assert idle_gets == 0
    assert held == STREAMS
