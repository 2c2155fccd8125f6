"""Every request body the Open Messaging transport sends, checked against the official SDK's
models (``tests/sdk_models.py``): one handover through everything it can send, against the
sandbox, then each body of the sandbox's request log against the model of its endpoint.

Known differences, each one documented (README, "Genesys Cloud Open Messaging"):
``channel.metadata.customAttributes`` (the SDK's ``ConversationChannelMetadata`` lists only
``subType``; Genesys documents ``customAttributes``), ``content[].contentType`` of an
inbound attachment (the SDK's ``OpenInboundMessageContent`` has only ``attachment``;
Genesys's examples and its outbound ``OpenMessageContent`` carry it), and the typing
event's ``typing`` (the SDK's request ``OpenEvent`` has only ``eventType``; its
``OpenMessageEvent`` has ``typing``).
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from endpoints.handovers.outbox import receipt_enqueue
from endpoints.handovers.services import handover_end, handover_message_add
from genesys.open_messaging import client as open_messaging
from genesys.open_messaging.transport import OpenMessagingTransport, record_webhook_message
from tests.genesys.test_om_carries import (
    QUICK_REPLIES,
    ROUTING,
    drain,
    om_settings,
    outbound,
    start,
)
from tests.sdk_models import assert_fits, violations

__all__ = ["om_settings"]  # a fixture

pytestmark = pytest.mark.django_db

INBOUND = r"/api/v2/conversations/messages/[^/]+/inbound/open/"
#: (method, path pattern) → the SDK model of the body, and the known differences.
MODELS: list[tuple[str, str, str, frozenset[str]]] = [
    (
        "POST",
        INBOUND + "message",
        "OpenInboundNormalizedMessage",
        frozenset({"channel.metadata.customAttributes", "content[].contentType"}),
    ),
    (
        "POST",
        INBOUND + "structured/response",
        "OpenInboundStructuredResponseMessage",
        frozenset({"channel.metadata.customAttributes"}),
    ),
    ("POST", INBOUND + "event", "OpenInboundNormalizedEvent", frozenset({"events"})),
    ("POST", INBOUND + "receipt", "OpenInboundNormalizedReceipt", frozenset()),
    (
        "PATCH",
        r"/api/v2/conversations/messages/[^/]+/participants/[^/]+",
        "MediaParticipantRequest",
        frozenset(),
    ),
    (
        "PUT",
        r"/api/v2/notifications/channels/[^/]+/subscriptions",
        "list[ChannelTopic]",
        frozenset(),
    ),
]


def model_of(request: dict) -> tuple[str, frozenset[str]] | None:
    for method, pattern, model, allowed in MODELS:
        if request["method"] == method and re.fullmatch(pattern, request["path"]):
            return model, allowed
    return None


def test_the_checker_finds_unknown_fields_wrong_types_and_values():
    body = {
        "channel": {"from": {"id": "u", "idType": "Pigeon"}, "time": "yesterday"},
        "text": 5,
        "colour": "red",
        "content": [{"attachment": {"mediaType": "Image", "url": "https://x.io/a.png"}}],
    }
    assert sorted(violations(body, "OpenInboundNormalizedMessage")) == [
        "channel.from.idType: 'Pigeon' is not a value OpenMessagingFromRecipient.id_type allows",
        "channel.time: 'yesterday' is not an ISO-8601 datetime",
        "colour: not a field of OpenInboundNormalizedMessage",
        "text: 5 is not str",
    ]


def test_every_body_the_transport_sends_fits_the_sdk(om_settings, sandbox):
    om_settings.send_profile_information = True
    om_settings.save()
    handover = start(
        om_settings,
        profile={"first_name": "Ada", "last_name": "Lovelace", "tier": "gold"},
        custom_fields={"order": "A-17"},
        routing=ROUTING,
        transcript=[{"from": "user", "text": "I need a human"}],
    )
    drain(handover)  # the transcript: the first inbound message, with the custom attributes
    handover.refresh_from_db()
    cid = handover.genesys_om.conversation_id
    attachment = {"url": "https://files.example.com/r.pdf", "mime": "application/pdf"}
    handover_message_add(
        handover=handover, text="mine", client_message_id="1", attachments=[attachment]
    )
    OpenMessagingTransport().send_typing(handover)
    sandbox.om_agent_join(cid, "Alex Agent")
    hello = sandbox.om_agent_send(cid, "Hello")
    record_webhook_message(om_settings.pk, outbound(handover, hello, "Hello"))
    question = sandbox.om_agent_send(cid, "Did it arrive?", QUICK_REPLIES)
    record_webhook_message(
        om_settings.pk,
        outbound(handover, question, "Did it arrive?", type="Structured", content=QUICK_REPLIES),
    )
    greeting, offer = handover.events.filter(kind="agent_message").order_by("seq")
    answer = {"text": "No", "payload": "n", "provider_message_id": question}
    handover_message_add(handover=handover, text="No", client_message_id="2", quick_reply=answer)
    with transaction.atomic():
        receipt_enqueue(greeting, delivered=True)
        receipt_enqueue(offer, delivered=False, reason="The callback URL answered 500")
    drain(handover)
    handover_end(handover_id=handover.pk, reason="user_ended")
    drain(handover)  # the disconnect
    client = open_messaging.client_for(om_settings)
    channel = client.create_notification_channel()
    client.set_notification_topics(channel["id"], [f"v2.conversations.{cid}"])

    sent = [r for r in sandbox.requests() if r["method"] in ("POST", "PUT", "PATCH")]
    checked = []
    for request in sent:
        if request["path"] in ("/oauth/token", "/api/v2/notifications/channels"):
            assert request["json"] is None  # a form, and no body
            continue
        found = model_of(request)
        assert found is not None, f"no SDK model named for {request['method']} {request['path']}"
        model, allowed = found
        assert_fits(request["json"], model, allowed=allowed)
        if model == "OpenInboundNormalizedEvent":
            for event in request["json"]["events"]:
                assert_fits(event, "OpenMessageEvent")
        checked.append((model, request["json"]))

    models = {model for model, _ in checked}
    assert models == {model for _, _, model, _ in MODELS}  # every kind of body was sent
    messages = [body for model, body in checked if model == "OpenInboundNormalizedMessage"]
    assert messages[0]["channel"]["metadata"]["customAttributes"]["order"] == "A-17"
    assert any(body.get("content") for body in messages)
    receipts = [body["status"] for model, body in checked if model.endswith("Receipt")]
    assert receipts == ["Delivered", "Failed"]
