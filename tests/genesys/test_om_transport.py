"""The outbox through the Open Messaging transport, against the sandbox (in process), with
the sandbox's ``channel.messageId`` deduplication off: the app must not depend on it."""

from __future__ import annotations

import pytest

from endpoints.handovers.outbox import outbox_send
from endpoints.handovers.services import handover_message_add, handover_start
from endpoints.handovers.tasks import handover_start_task
from endpoints.models import OutboundMessage
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import wait_for
from tests.factories import OAuth2ConnectionFactory, OpenMessagingSettingsFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def handover(genesys, sandbox, settings):
    settings.RELAY_BACKOFF_SECONDS = 0.01
    settings.RELAY_BACKOFF_MAX_SECONDS = 0.01
    sandbox.settings(open_messaging_dedupe=False)
    om_settings = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    )
    handover, _ = handover_start(endpoint=om_settings.endpoint, user_id="u", session_id="s")
    handover_start_task.apply(args=[handover.pk])
    handover.refresh_from_db()
    assert handover.status == "queued"
    return handover


def inbound_path(sandbox) -> str:
    return f"/api/v2/conversations/messages/{sandbox.open_integration_id}/inbound/open/message"


def texts(sandbox) -> list[str]:
    return [
        message["text"]
        for conversation in sandbox.om_conversations()
        for message in conversation["messages"]
        if message["direction"] == "Inbound"
    ]


def drain(handover) -> None:
    for _ in range(50):
        if outbox_send(handover.pk) is None:
            return
    pytest.fail("the outbox did not drain")


def started(handover, sandbox) -> str:
    """Send a first message, so the conversation exists and its id is known."""
    handover_message_add(handover=handover, text="first", client_message_id="0")
    drain(handover)
    handover.genesys_om.refresh_from_db()
    assert handover.genesys_om.conversation_id
    sandbox.clear_requests()
    return handover.genesys_om.conversation_id


def test_a_message_that_arrived_despite_a_timeout_is_not_sent_again(handover, sandbox, settings):
    cid = started(handover, sandbox)
    settings.GENESYS_HTTP_READ_TIMEOUT = 0.3
    sandbox.add_fault(inbound_path(sandbox), method="POST", delay_seconds=1.0, times=1)
    handover_message_add(handover=handover, text="only once", client_message_id="1")
    assert outbox_send(handover.pk) is not None  # timed out: outcome unknown
    message = OutboundMessage.objects.get(client_message_id="1")
    assert (message.status, message.attempts) == ("sending", 1)
    wait_for(lambda: "only once" in texts(sandbox), what="the slow send to land")
    drain(handover)
    assert texts(sandbox) == ["first", "only once"]
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    stored = sandbox.om_conversation(cid)["messages"][-1]
    assert message.remote_id == stored["id"]
    # Asked Genesys: the conversation, then the message's details.
    paths = [r["path"] for r in sandbox.requests(f"/api/v2/conversations/messages/{cid}")]
    assert f"/api/v2/conversations/messages/{cid}/messages/{stored['id']}" in paths
    assert len(sandbox.requests(inbound_path(sandbox))) == 1  # never sent twice


def test_a_5xx_that_did_not_store_it_is_sent_again_once(handover, sandbox):
    cid = started(handover, sandbox)
    sandbox.add_fault(inbound_path(sandbox), method="POST", status=503, times=1)
    handover_message_add(handover=handover, text="again", client_message_id="1")
    assert outbox_send(handover.pk) is not None
    drain(handover)
    assert texts(sandbox) == ["first", "again"]
    message = OutboundMessage.objects.get(client_message_id="1")
    assert (message.status, message.attempts) == ("sent", 2)
    assert sandbox.requests(f"/api/v2/conversations/messages/{cid}")  # checked first


def test_the_same_text_sent_before_is_not_taken_for_the_message_in_doubt(handover, sandbox):
    started(handover, sandbox)
    handover_message_add(handover=handover, text="ok", client_message_id="1")
    drain(handover)
    sandbox.add_fault(inbound_path(sandbox), method="POST", status=503, times=1)
    handover_message_add(handover=handover, text="ok", client_message_id="2")
    drain(handover)
    assert texts(sandbox) == ["first", "ok", "ok"]


def test_before_the_conversation_is_known_the_first_message_is_sent_again(handover, sandbox):
    # Nothing to ask without the conversation id: resending (same messageId) beats losing it.
    sandbox.add_fault(inbound_path(sandbox), method="POST", status=503, times=1)
    handover_message_add(handover=handover, text="hello", client_message_id="1")
    drain(handover)
    assert texts(sandbox) == ["hello"]
    message = OutboundMessage.objects.get(kind="message")
    assert (message.status, message.attempts) == ("sent", 2)
    bodies = [r["json"]["channel"]["messageId"] for r in sandbox.requests(inbound_path(sandbox))]
    assert len(set(bodies)) == 1
