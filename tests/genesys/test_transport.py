"""The outbox through the Genesys web chat transport, against the sandbox (in process)."""

from __future__ import annotations

import pytest

from endpoints.handovers.outbox import outbox_send
from endpoints.handovers.services import handover_message_add, handover_start
from endpoints.handovers.tasks import handover_start_task
from endpoints.models import OutboundMessage
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import wait_for
from tests.factories import GenesysSettingsFactory, OAuth2ConnectionFactory

pytestmark = pytest.mark.django_db

SEND_PATH = "/api/v2/webchat/guest/conversations/{cid}/members"


@pytest.fixture
def handover(genesys, settings):
    settings.RELAY_BACKOFF_SECONDS = 0.01
    settings.RELAY_BACKOFF_MAX_SECONDS = 0.01
    genesys_settings = GenesysSettingsFactory(
        organization_id=genesys.organization_id,
        deployment_id=genesys.deployment_id,
        queue_id=genesys.queue_id,
        queue_name=genesys.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    )
    handover, _ = handover_start(endpoint=genesys_settings.endpoint, user_id="u", session_id="s")
    handover_start_task.apply(args=[handover.pk])
    handover.refresh_from_db()
    assert handover.status == "queued"
    return handover


def texts(genesys, handover) -> list[str]:
    conversation = genesys.conversation(handover.genesys_webchat.conversation_id)
    customer = conversation["customer"]["id"]
    return [
        message["body"]
        for message in conversation["messages"]
        if message["sender"]["id"] == customer and message["bodyType"] == "standard"
    ]


def drain(handover) -> None:
    for _ in range(50):
        if outbox_send(handover.pk) is None:
            return
    pytest.fail("the outbox did not drain")


def sends(genesys, handover) -> int:
    path = SEND_PATH.format(cid=handover.genesys_webchat.conversation_id)
    return len([r for r in genesys.requests(path) if r["path"].endswith("/messages")])


def test_a_503_on_send_is_an_unknown_outcome_checked_before_resending(genesys, handover):
    cid = handover.genesys_webchat.conversation_id
    genesys.add_fault(SEND_PATH.format(cid=cid), method="POST", status=503, times=1)
    handover_message_add(handover=handover, text="hello", client_message_id="1")
    delay = outbox_send(handover.pk)
    message = OutboundMessage.objects.get(kind="message")
    assert delay is not None
    assert (message.status, message.attempts) == ("sending", 1)
    drain(handover)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert texts(genesys, handover) == ["hello"]
    assert genesys.requests(f"/api/v2/webchat/guest/conversations/{cid}/messages")  # checked


def test_a_message_that_arrived_despite_a_timeout_is_not_sent_again(genesys, handover, settings):
    settings.GENESYS_HTTP_READ_TIMEOUT = 0.3
    cid = handover.genesys_webchat.conversation_id
    genesys.add_fault(SEND_PATH.format(cid=cid), method="POST", delay_seconds=1.0, times=1)
    handover_message_add(handover=handover, text="only once", client_message_id="1")
    assert outbox_send(handover.pk) is not None  # timed out: outcome unknown
    wait_for(lambda: texts(genesys, handover), what="the slow send to land in the sandbox")
    drain(handover)
    assert texts(genesys, handover) == ["only once"]
    assert OutboundMessage.objects.get(kind="message").status == "sent"


def test_a_refused_message_fails_and_the_channel_is_told(genesys, handover):
    cid = handover.genesys_webchat.conversation_id
    genesys.add_fault(SEND_PATH.format(cid=cid), method="POST", status=400, times=1)
    handover_message_add(handover=handover, text="refused", client_message_id="bad")
    handover_message_add(handover=handover, text="fine", client_message_id="good")
    drain(handover)
    assert list(
        OutboundMessage.objects.filter(kind="message")
        .order_by("pk")
        .values_list("status", flat=True)
    ) == [
        "failed",
        "sent",
    ]
    [event] = handover.events.filter(kind="message_failed")
    assert event.data["client_message_id"] == "bad"
    assert "(400)" in event.data["reason"]
    assert texts(genesys, handover) == ["fine"]


def test_429_waits_for_retry_after(genesys, handover):
    cid = handover.genesys_webchat.conversation_id
    genesys.add_fault(SEND_PATH.format(cid=cid), method="POST", status=429, retry_after=7, times=10)
    handover_message_add(handover=handover, text="later", client_message_id="1")
    delay = outbox_send(handover.pk)
    assert delay == pytest.approx(7, abs=0.5)
    message = OutboundMessage.objects.get(kind="message")
    assert message.status == "pending"


def test_giving_up_after_the_configured_attempts(genesys, handover, settings):
    settings.RELAY_MAX_ATTEMPTS = 2
    cid = handover.genesys_webchat.conversation_id
    genesys.add_fault(SEND_PATH.format(cid=cid), method="POST", status=503, times=10)
    handover_message_add(handover=handover, text="doomed", client_message_id="1")
    drain(handover)
    message = OutboundMessage.objects.get(kind="message")
    assert (message.status, message.attempts) == ("failed", 2)
    assert handover.events.filter(kind="message_failed").count() == 1


def test_a_send_after_the_agent_ended_ends_the_handover(genesys, handover):
    cid = handover.genesys_webchat.conversation_id
    genesys.agent_join(cid)
    genesys.agent_leave(cid, end_conversation=True)
    handover_message_add(handover=handover, text="anyone?", client_message_id="1")
    drain(handover)
    handover.refresh_from_db()
    assert (handover.status, handover.end_reason) == ("ended", "agent_left")
    assert OutboundMessage.objects.get(kind="message").status == "failed"


def test_one_sender_at_a_time(genesys, handover):
    from endpoints.handovers import leases

    lease = leases.claim(handover.pk, leases.SENDER)
    assert lease is not None
    handover_message_add(handover=handover, text="waits", client_message_id="1")
    assert outbox_send(handover.pk) is None
    assert OutboundMessage.objects.get(kind="message").status == "pending"
    lease.release()
    drain(handover)
    assert texts(genesys, handover) == ["waits"]


def test_the_same_text_twice_is_delivered_twice_after_an_unknown_outcome(genesys, handover):
    cid = handover.genesys_webchat.conversation_id
    handover_message_add(handover=handover, text="yes", client_message_id="1")
    drain(handover)
    # The second "yes" gets a 503 (not stored): the first "yes" must not be taken for it.
    genesys.add_fault(SEND_PATH.format(cid=cid), method="POST", status=503, times=1)
    handover_message_add(handover=handover, text="yes", client_message_id="2")
    drain(handover)
    assert texts(genesys, handover) == ["yes", "yes"]
    first, second = OutboundMessage.objects.filter(kind="message").order_by("pk")
    assert (first.status, second.status) == ("sent", "sent")
    assert first.remote_id != second.remote_id


def test_routing_hints_go_in_the_routing_target(genesys, handover):
    genesys_settings = handover.endpoint.genesys_settings
    routed, _ = handover_start(
        endpoint=genesys_settings.endpoint,
        user_id="u",
        session_id="s-routed",
        routing={"language": "fr", "skills": ["billing", "vip"], "priority": 5},
    )
    handover_start_task.apply(args=[routed.pk])
    routed.refresh_from_db()
    conversation = genesys.conversation(routed.genesys_webchat.conversation_id)
    assert conversation["routing"] == {
        "language": "fr",
        "skills": ["billing", "vip"],
        "priority": 5,
    }
    plain = genesys.conversation(handover.genesys_webchat.conversation_id)
    assert plain["routing"] == {}
