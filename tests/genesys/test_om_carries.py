"""What Open Messaging carries besides text: routing attributes, bot messages, receipts
(against the sandbox, through the outbox)."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.urls import reverse

from endpoints.handovers.outbox import outbox_send, receipt_enqueue
from endpoints.handovers.services import handover_end, handover_message_add, handover_start
from endpoints.handovers.tasks import handover_start_task
from genesys.open_messaging.transport import record_webhook_message
from tests.conftest import CLIENT_ID
from tests.factories import OAuth2ConnectionFactory, OpenMessagingSettingsFactory

pytestmark = pytest.mark.django_db

PROFILE = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "tier": "2"}
RECEIPT_PATH = "/api/v2/conversations/messages/{integration}/inbound/open/receipt"
ROUTING = {"language": "fr", "skills": ["billing", "vip"], "priority": 5}


@pytest.fixture
def om_settings(genesys, sandbox, settings):
    settings.RELAY_BACKOFF_SECONDS = 0.01
    settings.RELAY_BACKOFF_MAX_SECONDS = 0.01
    return OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    )


def start(om_settings, **fields):
    handover, _ = handover_start(
        endpoint=om_settings.endpoint, user_id="u", session_id="s", **fields
    )
    handover_start_task.apply(args=[handover.pk])
    handover.refresh_from_db()
    return handover


def drain(handover) -> None:
    for _ in range(50):
        if outbox_send(handover.pk) is None:
            return
    pytest.fail("the outbox did not drain")


def sdk_fields(model: str) -> set[str]:
    sdk = pytest.importorskip("PureCloudPlatformClientV2")
    return set(getattr(sdk, model)().attribute_map.values())


# Routing attributes


def test_custom_fields_profile_and_routing_go_on_every_inbound_message(om_settings, sandbox):
    om_settings.send_profile_information = True
    om_settings.save()
    handover = start(
        om_settings,
        profile=PROFILE,
        custom_fields={"order": "A-17", "language": "overridden"},
        routing=ROUTING,
        transcript=[{"from": "user", "text": "hi", "at": "2025-01-15T09:30:00Z"}],
    )
    handover_message_add(handover=handover, text="later", client_message_id="1")
    drain(handover)

    expected = {
        "email": "ada@example.com",
        "tier": "2",
        "order": "A-17",
        "language": "fr",
        "skills": "billing,vip",
        "priority": "5",
    }
    [conversation] = sandbox.om_conversations()
    assert conversation["custom_attributes"] == expected
    inbound = [m for m in conversation["messages"] if m["direction"] == "Inbound"]
    assert len(inbound) == 2  # the transcript (the first message) and the later one
    assert [m["custom_attributes"] for m in inbound] == [expected, expected]
    assert conversation["customer"]["firstName"] == "Ada"  # the name goes as channel.from


def test_without_send_profile_only_custom_fields_and_routing_go(om_settings, sandbox):
    handover = start(om_settings, profile=PROFILE, custom_fields={"order": "A-17"})
    handover_message_add(handover=handover, text="hello", client_message_id="1")
    drain(handover)
    [conversation] = sandbox.om_conversations()
    assert conversation["custom_attributes"] == {"order": "A-17"}


def test_no_attributes_no_metadata(om_settings, sandbox):
    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello", client_message_id="1")
    drain(handover)
    [inbound] = sandbox.requests(f"/api/v2/conversations/messages/{sandbox.open_integration_id}")
    assert "metadata" not in inbound["json"]["channel"]


def test_the_channel_metadata_is_the_sdk_field(om_settings, sandbox):
    handover = start(om_settings, custom_fields={"order": "A-17"})
    handover_message_add(handover=handover, text="hello", client_message_id="1")
    drain(handover)
    [inbound] = sandbox.requests(f"/api/v2/conversations/messages/{sandbox.open_integration_id}")
    channel = inbound["json"]["channel"]
    assert set(channel) <= sdk_fields("OpenInboundMessageMessagingChannel")
    # The SDK's ConversationChannelMetadata lists subType only; Genesys documents
    # customAttributes there (GENESYS.md, "Open Messaging: what else the channel carries").
    assert channel["metadata"] == {"customAttributes": {"order": "A-17"}}


# Bot and system messages


def outbound(handover, message_id: str, text: str, **fields) -> dict:
    channel = {"to": {"id": handover.genesys_om.from_id}, **fields.pop("channel", {})}
    return {
        "id": message_id,
        "channel": channel,
        "type": "Text",
        "text": text,
        "direction": "Outbound",
        **fields,
    }


def test_a_bot_message_is_a_system_message_and_no_agent(om_handover):
    settings_id = om_handover.endpoint.genesys_om_settings.pk
    bot = outbound(
        om_handover,
        "b-1",
        "You are number 3 in the queue.",
        channel={"from": {"nickname": "In-queue flow"}},
        originatingEntity="Bot",
    )
    assert record_webhook_message(settings_id, bot) == "system message"
    assert record_webhook_message(settings_id, bot) == "duplicate"
    anonymous = outbound(om_handover, "b-2", "Please hold.", originatingEntity="System")
    assert record_webhook_message(settings_id, anonymous) == "system message"
    om_handover.refresh_from_db()
    assert om_handover.status != "active"
    assert om_handover.agent_name == ""
    assert list(om_handover.events.order_by("seq").values_list("kind", "data")) == [
        ("system_message", {"text": "You are number 3 in the queue."}),
        ("system_message", {"text": "Please hold."}),
    ]


def test_a_human_message_after_bot_messages_is_the_agent_joining(om_handover):
    settings_id = om_handover.endpoint.genesys_om_settings.pk
    record_webhook_message(
        settings_id, outbound(om_handover, "b-1", "Menu", originatingEntity="Bot")
    )
    human = outbound(
        om_handover,
        "m-1",
        "Hi, I'm Alex.",
        channel={"from": {"nickname": "Alex Agent"}},
        originatingEntity="Human",
    )
    assert record_webhook_message(settings_id, human) == "agent message"
    om_handover.refresh_from_db()
    assert om_handover.status == "active"
    assert list(om_handover.events.order_by("seq").values_list("kind", flat=True)) == [
        "system_message",
        "agent_joined",
        "agent_message",
    ]


def test_the_admin_transcript_shows_system_messages(admin_client, om_handover):
    settings_id = om_handover.endpoint.genesys_om_settings.pk
    record_webhook_message(
        settings_id, outbound(om_handover, "b-1", "All agents are busy.", originatingEntity="Bot")
    )
    url = reverse("admin:endpoints_handover_change", args=[om_handover.pk])
    html = admin_client.get(url).content.decode()
    assert "All agents are busy." in html
    assert "Provider bot" in html


# Receipts


@pytest.fixture
def talking(om_settings, sandbox):
    """A handover whose agent has sent a message (the webhook recorded by hand)."""
    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello", client_message_id="1")
    drain(handover)
    handover.refresh_from_db()
    cid = handover.genesys_om.conversation_id
    sandbox.om_agent_join(cid, "Alex Agent")
    message_id = sandbox.om_agent_send(cid, "Hi, Alex here")
    payload = outbound(
        handover,
        message_id,
        "Hi, Alex here",
        channel={"from": {"nickname": "Alex Agent"}},
        originatingEntity="Human",
    )
    record_webhook_message(om_settings.pk, payload)
    return handover, cid, message_id


def receipts(sandbox, cid: str, message_id: str) -> list[dict]:
    message = next(m for m in sandbox.om_conversation(cid)["messages"] if m["id"] == message_id)
    return message.get("receipts") or []


def test_a_delivered_callback_sends_delivered(talking, sandbox):
    handover, cid, message_id = talking
    event = handover.events.get(kind="agent_message")
    with transaction.atomic():
        receipt_enqueue(event, delivered=True)
        receipt_enqueue(event, delivered=True)  # once per event
    drain(handover)
    assert [r["status"] for r in receipts(sandbox, cid, message_id)] == ["Delivered"]
    [request] = sandbox.requests(RECEIPT_PATH.format(integration=sandbox.open_integration_id))
    body = request["json"]
    assert set(body) <= sdk_fields("OpenInboundNormalizedReceipt")
    assert set(body["channel"]) <= sdk_fields("OpenInboundMessagingReceiptChannel")
    assert body["id"] == message_id


def test_a_given_up_callback_sends_failed_with_the_reason_even_after_the_end(talking, sandbox):
    handover, cid, message_id = talking
    event = handover.events.get(kind="agent_message")
    handover_end(handover_id=handover.pk, reason="user_ended")
    with transaction.atomic():
        receipt_enqueue(event, delivered=False, reason="The callback URL answered 500")
    drain(handover)
    [receipt] = receipts(sandbox, cid, message_id)
    assert receipt["status"] == "Failed"
    assert receipt["reasons"] == [
        {"code": "GeneralError", "message": "The callback URL answered 500"}
    ]
    assert set(receipt["reasons"][0]) <= sdk_fields("ConversationReason")


def test_a_receipt_waiting_for_its_retry_does_not_hold_up_messages(talking, sandbox):
    handover, cid, message_id = talking
    event = handover.events.get(kind="agent_message")
    path = RECEIPT_PATH.format(integration=sandbox.open_integration_id)
    sandbox.add_fault(path, method="POST", status=503, times=10)
    with transaction.atomic():
        receipt_enqueue(event, delivered=True)
    handover_message_add(handover=handover, text="after the receipt", client_message_id="2")
    assert outbox_send(handover.pk) > 0  # the receipt waits for its retry
    handover_message_add(handover=handover, text="and another", client_message_id="3")
    outbox_send(handover.pk)
    inbound = [
        m["text"] for m in sandbox.om_conversation(cid)["messages"] if m["direction"] == "Inbound"
    ]
    assert inbound == ["hello", "after the receipt", "and another"]
    assert receipts(sandbox, cid, message_id) == []
    sandbox.clear_faults()
    drain_when_due(handover)
    assert [r["status"] for r in receipts(sandbox, cid, message_id)] == ["Delivered"]


def drain_when_due(handover) -> None:
    for _ in range(200):
        delay = outbox_send(handover.pk)
        if delay is None:
            return
        time.sleep(min(delay, 0.05))
    pytest.fail("the outbox did not drain")


# Attachments and rich content

ATTACHMENT = {
    "contentType": "Attachment",
    "attachment": {
        "mediaType": "Image",
        "url": "https://api.mypurecloud.de/files/receipt.png",
        "mime": "image/png",
        "filename": "receipt.png",
        "contentSizeBytes": 2048,
    },
}
QUICK_REPLIES = [
    {
        "contentType": "QuickReply",
        "quickReply": {"text": "Yes", "payload": "y", "action": "Message"},
    },
    {
        "contentType": "QuickReply",
        "quickReply": {"text": "No", "payload": "n", "action": "Message"},
    },
]
CARD = {
    "contentType": "Card",
    "card": {
        "title": "Order A-17",
        "description": "Shipped",
        "actions": [{"type": "Link", "text": "Track", "url": "https://track.example.com/A-17"}],
    },
}


def agent_says(handover, message_id: str, kind: str = "Text", **fields) -> dict:
    payload = outbound(
        handover, message_id, "", channel={"from": {"nickname": "Alex Agent"}}, **fields
    )
    payload["type"] = kind
    return payload


def test_an_agent_attachment_is_part_of_the_agent_message(om_handover):
    settings_id = om_handover.endpoint.genesys_om_settings.pk
    payload = agent_says(om_handover, "a-1", content=[ATTACHMENT], originatingEntity="Human")
    del payload["text"]  # an attachment alone comes with no text
    assert record_webhook_message(settings_id, payload) == "agent message"
    event = om_handover.events.get(kind="agent_message")
    assert event.data == {
        "text": "",
        "agent_name": "Alex Agent",
        "attachments": [
            {
                "url": "https://api.mypurecloud.de/files/receipt.png",
                "mime": "image/png",
                "filename": "receipt.png",
                "size": 2048,
                "media_type": "Image",
            }
        ],
    }


def test_quick_replies_and_cards_become_options_and_links(om_handover):
    settings_id = om_handover.endpoint.genesys_om_settings.pk
    payload = agent_says(
        om_handover, "s-1", "Structured", content=[*QUICK_REPLIES, CARD], originatingEntity="Human"
    )
    payload["text"] = "Did it arrive?"
    assert record_webhook_message(settings_id, payload) == "agent message"
    data = om_handover.events.get(kind="agent_message").data
    assert data["text"] == "Did it arrive?"
    assert data["quick_replies"] == [
        {"text": "Yes", "payload": "y"},
        {"text": "No", "payload": "n"},
    ]
    assert data["cards"] == [
        {
            "title": "Order A-17",
            "description": "Shipped",
            "actions": [{"type": "Link", "text": "Track", "url": "https://track.example.com/A-17"}],
        }
    ]


@pytest.mark.parametrize(
    "content",
    [
        "not a list",
        [42, None, "x"],
        [{"contentType": "Attachment", "attachment": "nope"}],
        [{"contentType": "Attachment", "attachment": {"url": 5}}],
        [{"contentType": "QuickReply", "quickReply": {"payload": "no text"}}],
        [{"contentType": "Unknown"}],
    ],
)
def test_content_of_the_wrong_shape_is_left_out_and_the_message_kept(om_handover, content):
    settings_id = om_handover.endpoint.genesys_om_settings.pk
    payload = agent_says(om_handover, "x-1", content=content, originatingEntity="Human")
    payload["text"] = "still here"
    assert record_webhook_message(settings_id, payload) == "agent message"
    data = om_handover.events.get(kind="agent_message").data
    assert data == {"text": "still here", "agent_name": "Alex Agent"}


def test_the_admin_transcript_shows_attachments_quick_replies_and_cards(admin_client, om_handover):
    settings_id = om_handover.endpoint.genesys_om_settings.pk
    payload = agent_says(
        om_handover, "s-1", "Structured", content=[ATTACHMENT, *QUICK_REPLIES, CARD]
    )
    record_webhook_message(settings_id, payload)
    html = admin_client.get(reverse("admin:endpoints_handover_change", args=[om_handover.pk]))
    text = html.content.decode()
    assert "Attachment: receipt.png https://api.mypurecloud.de/files/receipt.png" in text
    assert "Quick replies: Yes | No" in text
    assert "Card: Order A-17 · Shipped · https://track.example.com/A-17" in text


def test_user_attachments_reach_genesys_as_sdk_content(om_settings, sandbox):
    handover = start(om_settings)
    attachment = {
        "url": "https://files.example.com/r.pdf",
        "mime": "application/pdf",
        "filename": "r.pdf",
    }
    handover_message_add(
        handover=handover, text="", client_message_id="1", attachments=[attachment]
    )
    drain(handover)
    inbound = sandbox.requests(f"/api/v2/conversations/messages/{sandbox.open_integration_id}")
    body = inbound[-1]["json"]
    [item] = body["content"]
    assert item == {
        "contentType": "Attachment",
        "attachment": {
            "mediaType": "File",
            "url": "https://files.example.com/r.pdf",
            "mime": "application/pdf",
            "filename": "r.pdf",
        },
    }
    assert set(item["attachment"]) <= sdk_fields("OpenContentAttachment")
    handover.refresh_from_db()
    [message] = [
        m
        for m in sandbox.om_conversation(handover.genesys_om.conversation_id)["messages"]
        if m.get("content")
    ]
    assert message["content"] == body["content"]
    assert handover.outbox.get(client_message_id="1").status == "sent"
