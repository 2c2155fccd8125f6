"""A user's answer to a quick reply, from the runtime API through the outbox to the sandbox:
Open Messaging sends it as a button response (``Structured``), web chat as plain text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from genesys.open_messaging.transport import OpenMessagingTransport, record_webhook_message
from tests.api.conftest import token_client
from tests.factories import TokenFactory, UserFactory
from tests.genesys.test_om_carries import QUICK_REPLIES, drain, om_settings, outbound, start
from tests.genesys.test_transport import handover as webchat_handover
from tests.genesys.test_transport import texts as webchat_texts

__all__ = ["om_settings", "webchat_handover"]  # fixtures

pytestmark = pytest.mark.django_db

STRUCTURED = "/api/v2/conversations/messages/{integration}/inbound/open/structured/response"


@pytest.fixture
def driver():
    """A channel's API client: it may drive handovers."""
    return token_client(TokenFactory(user=UserFactory(perms=["endpoints.drive_handover"])))


def answer(driver, handover, **quick_reply):
    url = reverse("api:handover-messages", kwargs={"id": handover.public_id})
    return driver.post(url, {"quick_reply": quick_reply}, format="json")


@pytest.fixture
def offered(om_settings, sandbox):
    """A handover whose agent offered Yes/No quick replies (the webhook recorded by hand);
    (handover, Genesys conversation id, the offer's Genesys message id)."""
    handover = start(om_settings, transcript=[{"from": "user", "text": "I need a human"}])
    drain(handover)
    handover.refresh_from_db()
    cid = handover.genesys_om.conversation_id
    sandbox.om_agent_join(cid, "Alex Agent")
    message_id = sandbox.om_agent_send(cid, "Did it arrive?", QUICK_REPLIES)
    payload = outbound(
        handover,
        message_id,
        "Did it arrive?",
        channel={"from": {"nickname": "Alex Agent"}},
        type="Structured",
        content=QUICK_REPLIES,
        originatingEntity="Human",
    )
    assert record_webhook_message(om_settings.pk, payload) == "agent message"
    return handover, cid, message_id


def test_the_answer_reaches_genesys_as_a_button_response(driver, offered, sandbox):
    handover, cid, question = offered

    assert answer(driver, handover, payload="n").status_code == 202
    drain(handover)

    stored = sandbox.om_conversation(cid)["messages"][-1]
    assert (stored["direction"], stored["type"]) == ("Inbound", "Structured")
    assert stored["content"] == [
        {
            "contentType": "ButtonResponse",
            "buttonResponse": {"type": "QuickReply", "text": "No", "payload": "n"},
        }
    ]
    assert stored["originating_message_id"] == question
    [request] = sandbox.requests(STRUCTURED.format(integration=sandbox.open_integration_id))
    assert request["json"]["channel"]["messageId"] == (
        f"{handover.public_id}:{handover.outbox.get(data__has_key='quick_reply').pk}"
    )
    row = handover.outbox.get(data__has_key="quick_reply")
    assert (row.status, row.remote_id) == ("sent", stored["id"])


def test_an_answer_in_doubt_is_found_by_its_button_text(driver, offered, sandbox):
    """After an unknown outcome the outbox asks Genesys: a button response has no text of
    its own, so the pressed button's text is what is compared."""
    handover = offered[0]
    answer(driver, handover, payload="y")
    drain(handover)
    row = handover.outbox.get(data__has_key="quick_reply")
    row.attempt_started_at = timezone.now() - timedelta(seconds=5)

    assert OpenMessagingTransport().find_sent(handover, row) == row.remote_id


def test_before_any_conversation_the_answer_goes_as_text(driver, om_settings, sandbox):
    handover = start(om_settings)

    assert answer(driver, handover, text="Yes").status_code == 202
    drain(handover)

    assert sandbox.requests(STRUCTURED.format(integration=sandbox.open_integration_id)) == []
    [conversation] = sandbox.om_conversations()
    assert [m["text"] for m in conversation["messages"]] == ["Yes"]


def test_web_chat_sends_the_answer_as_plain_text(driver, genesys, webchat_handover):
    assert answer(driver, webchat_handover, text="Yes", payload="yes").status_code == 202
    drain(webchat_handover)

    assert webchat_texts(genesys, webchat_handover) == ["Yes"]


def test_the_admin_transcript_shows_the_answer(admin_client, driver, offered):
    handover = offered[0]
    answer(driver, handover, payload="n")

    page = admin_client.get(reverse("admin:endpoints_handover_change", args=[handover.pk]))

    assert "Quick reply answer: No (payload n)" in page.content.decode()
