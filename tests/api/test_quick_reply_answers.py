"""The runtime API: the user answers a quick reply (``POST …/messages/`` with
``quick_reply``), checked at the edge against what the agent offered."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from endpoints.models import EventKind, OutboundMessage
from tests.factories import (
    GenesysSettingsFactory,
    HandoverEventFactory,
    HandoverFactory,
    OpenMessagingSettingsFactory,
)

pytestmark = pytest.mark.django_db

OFFER = {
    "text": "Did it arrive?",
    "agent_name": "Alex Agent",
    "quick_replies": [{"text": "Yes", "payload": "yes"}, {"text": "No", "payload": "no"}],
}


def messages_url(handover) -> str:
    return reverse("api:handover-messages", kwargs={"id": handover.public_id})


@pytest.fixture
def om_handover():
    om_settings = OpenMessagingSettingsFactory(endpoint__handover_provider="genesys_om")
    return HandoverFactory(endpoint=om_settings.endpoint, provider="genesys_om")


@pytest.fixture
def offered(om_handover):
    """The agent's message with two quick replies (Genesys's message id ``g-7``)."""
    HandoverEventFactory(handover=om_handover, data={"text": "Hello"}, external_id="g-1")
    return HandoverEventFactory(handover=om_handover, data=OFFER, external_id="g-7")


def post(driver, handover, body):
    return driver.post(messages_url(handover), body, format="json")


def test_an_answer_by_payload_takes_the_latest_offer(driver, om_handover, offered):
    response = post(
        driver, om_handover, {"quick_reply": {"payload": "no"}, "client_message_id": "a"}
    )

    assert response.status_code == 202, response.json()
    message = OutboundMessage.objects.get()
    assert message.text == "No"  # what a provider without quick replies sends
    assert message.data == {
        "quick_reply": {
            "text": "No",
            "payload": "no",
            "in_reply_to": offered.seq,
            "provider_message_id": "g-7",
        }
    }


def test_an_answer_by_text_to_a_named_offer(driver, om_handover, offered):
    HandoverEventFactory(handover=om_handover, data={**OFFER, "quick_replies": [{"text": "Later"}]})

    response = post(
        driver, om_handover, {"quick_reply": {"text": "Yes", "in_reply_to": offered.seq}}
    )

    assert response.status_code == 202, response.json()
    answer = OutboundMessage.objects.get().data["quick_reply"]
    assert (answer["payload"], answer["provider_message_id"]) == ("yes", "g-7")


def test_a_system_message_offer_can_be_answered(driver, om_handover):
    HandoverEventFactory(
        handover=om_handover,
        kind=EventKind.SYSTEM_MESSAGE,
        data={"text": "Menu", "quick_replies": [{"text": "Billing", "payload": "b"}]},
        external_id="g-bot",
    )
    assert post(driver, om_handover, {"quick_reply": {"text": "Billing"}}).status_code == 202
    assert OutboundMessage.objects.get().data["quick_reply"]["provider_message_id"] == "g-bot"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"quick_reply": {}}, "text", "Give the option's text or payload"),
        ({"quick_reply": {"payload": "maybe"}}, "payload", "Not one of the quick replies event"),
        ({"quick_reply": {"text": "Perhaps"}}, "text", "(“Yes”, “No”). Name the event it answers"),
        ({"quick_reply": {"payload": "yes", "in_reply_to": 1}}, "in_reply_to", "offered no quick"),
        ({"quick_reply": {"payload": "yes", "in_reply_to": 99}}, "in_reply_to", "offered no quick"),
        ({"quick_reply": {"payload": "yes", "in_reply_to": "2"}}, "in_reply_to", "Not an integer"),
        ({"quick_reply": {"payload": 1}}, "payload", "Not a string"),
        ({"quick_reply": {"payload": "yes", "colour": "red"}}, "colour", "Unknown field"),
        ({"quick_reply": {"payload": "a\x00b"}}, "payload", "control characters"),
        ({"quick_reply": {"payload": "y" * 1001}}, "payload", "1000 characters"),
        ({"quick_reply": "yes"}, "quick_reply", "Invalid data"),
        ({"quick_reply": {"payload": "yes"}, "text": "also"}, "quick_reply", "its own text"),
        (
            {
                "quick_reply": {"payload": "yes"},
                "attachments": [{"url": "https://x.io/a.png", "mime": "image/png"}],
            },
            "quick_reply",
            "in a message of their own",
        ),
    ],
)
def test_an_answer_that_does_not_fit_is_400_saying_why(
    driver, om_handover, offered, body, field, says
):
    response = post(driver, om_handover, body)

    assert response.status_code == 400
    errors = json.dumps(response.json(), ensure_ascii=False)
    assert says in errors, errors
    assert field in errors
    assert not OutboundMessage.objects.exists()


def test_without_any_offer_the_answer_needs_its_text(driver, om_handover):
    response = post(driver, om_handover, {"quick_reply": {"payload": "yes"}})
    assert response.status_code == 400
    assert "No quick replies were offered" in json.dumps(response.json())

    assert post(driver, om_handover, {"quick_reply": {"text": "Yes"}}).status_code == 202
    assert OutboundMessage.objects.get().data == {"quick_reply": {"text": "Yes", "payload": "Yes"}}


def test_web_chat_takes_the_answer_as_its_text(driver):
    handover = HandoverFactory(endpoint=GenesysSettingsFactory().endpoint)

    response = post(driver, handover, {"quick_reply": {"text": "Yes", "payload": "yes"}})

    assert response.status_code == 202, response.json()
    assert OutboundMessage.objects.get().text == "Yes"


def test_the_offer_costs_one_query(driver, om_handover, offered):
    """An answer costs a plain message's queries plus the offer's lookup."""
    post(driver, om_handover, {"text": "warm-up", "client_message_id": "w"})
    with CaptureQueriesContext(connection) as plain:
        post(driver, om_handover, {"text": "plain", "client_message_id": "p"})
    with CaptureQueriesContext(connection) as answer:
        post(driver, om_handover, {"quick_reply": {"payload": "yes"}, "client_message_id": "q"})
    assert len(answer) == len(plain) + 1
