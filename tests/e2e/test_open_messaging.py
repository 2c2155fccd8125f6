"""Open Messaging handovers through the real broker, worker and relay, with the sandbox as
Genesys and this test's live server as the webhook receiver."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from endpoints.handovers.services import handover_end, handover_message_add, handover_start
from endpoints.models import Handover, HandoverEvent
from genesys.models import OpenMessagingConversation
from genesys.open_messaging.client import SIGNATURE_HEADER, signature
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import sweep_until, wait_for
from tests.factories import WEBHOOK_SECRET, OAuth2ConnectionFactory, OpenMessagingSettingsFactory
from tests.processes import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROFILE = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}


@pytest.fixture
def om_settings(e2e: Stack, genesys: Any, sandbox: Any, live_server: Any):
    om_settings = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    )
    sandbox.put_open_integration(
        live_server.url + om_settings.webhook_path(), WEBHOOK_SECRET, name="Support bot"
    )
    return om_settings


def start(om_settings, **kwargs: Any) -> Handover:
    handover, created = handover_start(
        endpoint=om_settings.endpoint,
        user_id=kwargs.pop("user_id", "user-1"),
        session_id=kwargs.pop("session_id", str(uuid.uuid4())),
        **kwargs,
    )
    assert created
    return handover


def conversation_id_of(handover: Handover, e2e: Stack) -> str:
    def known() -> str:
        row = OpenMessagingConversation.objects.filter(handover=handover).first()
        return row.conversation_id if row else ""

    return wait_for(known, what="the Genesys conversation id", stack=e2e)


def inbound_texts(sandbox: Any, conversation_id: str) -> list[str]:
    return [
        message["text"]
        for message in sandbox.om_conversation(conversation_id)["messages"]
        if message["direction"] == "Inbound"
    ]


def kinds(handover: Handover) -> list[str]:
    return list(handover.events.order_by("seq").values_list("kind", flat=True))


def wait_kinds(handover: Handover, expected: list[str], e2e: Stack, timeout: float = 20) -> None:
    wait_for(
        lambda: kinds(handover) == expected, what=f"events {expected}", stack=e2e, timeout=timeout
    )


def test_a_whole_conversation(e2e, sandbox, om_settings, channel):
    om_settings.endpoint.callback_url = channel.url
    om_settings.endpoint.callback_signing_secret = "e2e-signing-secret"
    om_settings.endpoint.save()
    handover = start(om_settings, transcript=[{"from": "user", "text": "I need a human"}])
    cid = conversation_id_of(handover, e2e)
    wait_for(lambda: inbound_texts(sandbox, cid), what="the transcript", stack=e2e)
    handover_message_add(handover=handover, text="My order is late", client_message_id="m1")
    wait_for(
        lambda: inbound_texts(sandbox, cid)[1:] == ["My order is late"],
        what="the user's message",
        stack=e2e,
    )
    sandbox.om_agent_join(cid, "Alex Agent")
    wait_kinds(handover, ["agent_joined"], e2e)
    sandbox.om_agent_typing(cid)
    sandbox.om_agent_send(cid, "Hello, how can I help?")
    wait_kinds(handover, ["agent_joined", "agent_typing", "agent_message"], e2e)
    message = handover.events.get(kind="agent_message")
    assert message.data == {"text": "Hello, how can I help?", "agent_name": "Alex Agent"}
    handover.refresh_from_db()
    assert handover.status == "active"
    sandbox.om_agent_leave(cid, end_conversation=True)
    wait_kinds(handover, ["agent_joined", "agent_typing", "agent_message", "ended"], e2e)
    handover.refresh_from_db()
    assert handover.end_reason == "agent_left"
    # The same events reached the channel's callback, in order.
    wait_for(lambda: len(channel.events()) == 4, what="4 callbacks", stack=e2e)
    assert [event["kind"] for event in channel.events()] == kinds(handover)


@pytest.mark.parametrize("send_profile", [True, False])
def test_profile_is_sent_only_when_allowed(e2e, sandbox, om_settings, send_profile):
    om_settings.send_profile_information = send_profile
    om_settings.save()
    handover = start(om_settings, user_id="ada@example.com", profile=PROFILE)
    handover_message_add(handover=handover, text="hello")
    cid = conversation_id_of(handover, e2e)
    inbound = [
        request
        for request in sandbox.requests("/api/v2/conversations/messages/")
        if request["method"] == "POST" and request["path"].endswith("/inbound/open/message")
    ]
    [body] = [request["json"] for request in inbound]
    sender = body["channel"]["from"]
    assert sender["idType"] == "Opaque"
    sent = handover.outbox.exclude(kind="start").get()
    assert body["channel"]["messageId"] == f"{handover.public_id}:{sent.pk}"
    assert body["text"] == "hello"
    if send_profile:
        assert (sender["firstName"], sender["lastName"]) == ("Ada", "Lovelace")
        assert set(sender) == {"id", "idType", "firstName", "lastName"}
        # The profile's other keys go as routing data (custom attributes), the names do not.
        assert body["channel"]["metadata"] == {"customAttributes": {"email": "ada@example.com"}}
        assert "ada@example.com" not in json.dumps(sender)  # the user id is not the sender id
    else:
        assert set(sender) == {"id", "idType"}
        everything = json.dumps(sandbox.requests()) + json.dumps(sandbox.om_conversation(cid))
        assert "Ada" not in everything
        assert "Lovelace" not in everything
        assert "ada@example.com" not in json.dumps(sandbox.requests())  # nor the user id


def test_rapid_inbound_messages_arrive_in_order(e2e, sandbox, om_settings):
    if len(e2e.workers) < 2:
        e2e.start_worker("second")
    handover = start(om_settings)
    sent = [f"message {n:03}" for n in range(60)]
    for n, text in enumerate(sent):
        handover_message_add(handover=handover, text=text, client_message_id=f"c{n}")
    cid = conversation_id_of(handover, e2e)
    wait_for(lambda: len(inbound_texts(sandbox, cid)) >= 60, timeout=60, what="60", stack=e2e)
    assert inbound_texts(sandbox, cid) == sent
    assert len(sandbox.om_conversations()) == 1


def _post_webhook(live_server, om_settings, body: bytes, header: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[SIGNATURE_HEADER] = header
    url = live_server.url + om_settings.webhook_path()
    return requests.post(url, data=body, headers=headers, timeout=5).status_code


def test_bad_signatures_are_refused_and_a_duplicate_is_delivered_once(
    e2e, sandbox, om_settings, live_server
):
    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello")
    cid = conversation_id_of(handover, e2e)
    sandbox.om_agent_join(cid, "Alex Agent")
    wait_kinds(handover, ["agent_joined"], e2e)
    to_id = handover.genesys_om.from_id
    body = json.dumps(
        {
            "id": "genesys-message-1",
            "channel": {
                "platform": "Open",
                "type": "Private",
                "to": {"id": to_id},
                "from": {"id": "agent", "idType": "Opaque", "nickname": "Alex Agent"},
                "time": "2026-01-15T09:30:00.000Z",
                "messageId": "genesys-message-1",
            },
            "type": "Text",
            "text": "Once only",
            "direction": "Outbound",
        }
    ).encode()
    events_before = HandoverEvent.objects.count()
    assert _post_webhook(live_server, om_settings, body, None) == 401
    assert (
        _post_webhook(live_server, om_settings, body, signature("wrong-secret-123456", body)) == 403
    )
    assert _post_webhook(live_server, om_settings, body, "sha256=garbage") == 403
    assert HandoverEvent.objects.count() == events_before
    good = signature(WEBHOOK_SECRET, body)
    assert _post_webhook(live_server, om_settings, body, good) == 200
    assert _post_webhook(live_server, om_settings, body, good) == 200  # Genesys retrying
    wait_kinds(handover, ["agent_joined", "agent_message"], e2e)
    sandbox.om_agent_send(cid, "after")
    wait_kinds(handover, ["agent_joined", "agent_message", "agent_message"], e2e)
    assert list(
        handover.events.filter(kind="agent_message").values_list("data__text", flat=True)
    ) == ["Once only", "after"]


def test_transfer_keeps_the_handover_and_the_next_agent_is_announced(e2e, sandbox, om_settings):
    sandbox.put_queue(str(uuid.uuid4()), name="Billing")
    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello")
    cid = conversation_id_of(handover, e2e)
    sandbox.om_agent_join(cid, "Alex Agent")
    wait_kinds(handover, ["agent_joined"], e2e)
    sandbox.om_transfer(cid, "Billing")
    wait_kinds(handover, ["agent_joined", "agent_left"], e2e)
    sandbox.om_agent_join(cid, "Bea Billing")
    wait_kinds(handover, ["agent_joined", "agent_left", "agent_joined"], e2e)
    handover.refresh_from_db()
    assert handover.is_open
    assert handover.agent_name == "Bea Billing"


def transferred(e2e, sandbox, om_settings, *, gap_seconds: float) -> tuple[Handover, str]:
    """A handover whose agent transfers it to "Billing"; the queue connects after the gap."""
    sandbox.put_queue(str(uuid.uuid4()), name="Billing")
    sandbox.settings(transfer_gap_seconds=gap_seconds)
    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello")
    cid = conversation_id_of(handover, e2e)
    sandbox.om_agent_join(cid, "Alex Agent")
    wait_kinds(handover, ["agent_joined"], e2e)
    sandbox.om_transfer(cid, "Billing")
    wait_kinds(handover, ["agent_joined", "agent_left"], e2e)
    return handover, cid


def test_a_transfer_shorter_than_the_grace_keeps_the_handover(e2e, sandbox, om_settings, settings):
    grace = settings.GENESYS_TRANSFER_GRACE_SECONDS
    handover, cid = transferred(e2e, sandbox, om_settings, gap_seconds=grace / 4)
    # The relay saw nobody connected, then the Billing queue: past the grace, still open.
    time.sleep(grace + 1)
    handover.refresh_from_db()
    assert handover.is_open
    assert kinds(handover) == ["agent_joined", "agent_left"]
    sandbox.om_agent_join(cid, "Bea Billing")
    sandbox.om_agent_send(cid, "Billing here")
    wait_kinds(handover, ["agent_joined", "agent_left", "agent_joined", "agent_message"], e2e)
    assert handover.events.get(kind="agent_message").data["agent_name"] == "Bea Billing"
    handover.refresh_from_db()
    assert handover.is_open


def test_nobody_reconnecting_within_the_grace_ends_the_handover(
    e2e, sandbox, om_settings, settings
):
    grace = settings.GENESYS_TRANSFER_GRACE_SECONDS
    handover, _ = transferred(e2e, sandbox, om_settings, gap_seconds=grace * 3)
    left_at = time.monotonic()  # just after the relay recorded the disconnect
    handover.refresh_from_db()
    assert handover.is_open
    wait_kinds(handover, ["agent_joined", "agent_left", "ended"], e2e, timeout=grace + 5)
    assert time.monotonic() - left_at >= grace - 0.5  # not before the grace period
    handover.refresh_from_db()
    assert handover.end_reason == "agent_left"


def test_ending_from_our_side_disconnects_the_customer(e2e, sandbox, om_settings):
    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello")
    cid = conversation_id_of(handover, e2e)
    sandbox.om_agent_join(cid, "Alex Agent")
    wait_kinds(handover, ["agent_joined"], e2e)
    handover_end(handover_id=handover.pk, reason="expired")
    wait_for(
        lambda: sandbox.om_conversation(cid)["state"] == "ended",
        what="the Genesys conversation to end",
        stack=e2e,
    )
    customer = [
        p for p in sandbox.om_conversation(cid)["participants"] if p["purpose"] == "customer"
    ]
    assert customer[0]["state"] == "disconnected"


def test_expiry_ends_it_and_disconnects_the_customer(e2e, sandbox, om_settings):
    from datetime import timedelta

    from django.utils import timezone

    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello")
    cid = conversation_id_of(handover, e2e)
    Handover.objects.filter(pk=handover.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1), warn_at=None
    )
    sweep_until(lambda: kinds(handover) == ["ended"], what="the end", stack=e2e)
    handover.refresh_from_db()
    assert handover.end_reason == "expired"
    wait_for(
        lambda: sandbox.om_conversation(cid)["state"] == "ended",
        what="the customer to be disconnected",
        stack=e2e,
    )


def test_the_end_webhook_ends_the_handover(e2e, sandbox, om_settings, live_server):
    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello")
    cid = conversation_id_of(handover, e2e)
    body = json.dumps({"conversationId": cid}).encode()
    url = live_server.url + om_settings.end_webhook_path()
    headers = {"Content-Type": "application/json"}
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 401
    headers[SIGNATURE_HEADER] = signature(WEBHOOK_SECRET, body)
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
    wait_kinds(handover, ["ended"], e2e)
    handover.refresh_from_db()
    assert handover.end_reason == "agent_left"
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
    assert kinds(handover) == ["ended"]


def test_the_user_typing_reaches_the_agent(e2e, sandbox, om_settings):
    from rest_framework.test import APIClient

    from tests.factories import TokenFactory, UserFactory

    handover = start(om_settings)
    handover_message_add(handover=handover, text="hello")
    cid = conversation_id_of(handover, e2e)
    api = APIClient()
    user = UserFactory(perms=["endpoints.drive_handover"])
    api.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    response = api.post(f"/api/v1/handovers/{handover.public_id}/typing/")
    assert response.status_code == 202
    wait_for(lambda: sandbox.om_conversation(cid)["typing"], what="the typing event", stack=e2e)
    assert sandbox.om_conversation(cid)["typing"][0]["purpose"] == "customer"


def test_routing_attributes_go_on_the_first_message_and_the_later_ones(e2e, sandbox, om_settings):
    om_settings.send_profile_information = True
    om_settings.save()
    handover = start(
        om_settings,
        profile={**PROFILE, "tier": "gold"},
        custom_fields={"order": "A-17"},
        routing={"language": "fr", "skills": ["billing", "vip"], "priority": 5},
        transcript=[{"from": "user", "text": "I need a human"}],
    )
    cid = conversation_id_of(handover, e2e)
    handover_message_add(handover=handover, text="My order is late", client_message_id="m1")
    wait_for(lambda: len(inbound_texts(sandbox, cid)) == 2, what="both messages", stack=e2e)
    expected = {
        "email": "ada@example.com",
        "tier": "gold",
        "order": "A-17",
        "language": "fr",
        "skills": "billing,vip",
        "priority": "5",
    }
    conversation = sandbox.om_conversation(cid)
    assert conversation["custom_attributes"] == expected
    inbound = [m for m in conversation["messages"] if m["direction"] == "Inbound"]
    assert [m["custom_attributes"] for m in inbound] == [expected, expected]


def test_in_queue_flow_messages_reach_the_channel_as_system_messages(
    e2e, sandbox, om_settings, channel
):
    om_settings.endpoint.callback_url = channel.url
    om_settings.endpoint.callback_signing_secret = "e2e-signing-secret"
    om_settings.endpoint.save()
    handover = start(om_settings, transcript=[{"from": "user", "text": "I need a human"}])
    cid = conversation_id_of(handover, e2e)
    sandbox.om_bot_message(cid, "You are number 2 in the queue.")
    wait_kinds(handover, ["system_message"], e2e)
    handover.refresh_from_db()
    assert handover.status == "queued"
    sandbox.om_agent_join(cid, "Alex Agent")
    sandbox.om_agent_send(cid, "Hello!")
    wait_for(lambda: kinds(handover)[-1:] == ["agent_message"], what="the agent message", stack=e2e)
    assert kinds(handover) == ["system_message", "agent_joined", "agent_message"]
    wait_for(lambda: len(channel.events()) == 3, what="3 callbacks", stack=e2e)
    first = channel.events()[0]
    assert (first["kind"], first["data"]) == (
        "system_message",
        {"text": "You are number 2 in the queue."},
    )


def test_a_delivered_agent_message_is_receipted_to_genesys(e2e, sandbox, om_settings, channel):
    om_settings.endpoint.callback_url = channel.url
    om_settings.endpoint.callback_signing_secret = "e2e-signing-secret"
    om_settings.endpoint.save()
    handover = start(om_settings, transcript=[{"from": "user", "text": "I need a human"}])
    cid = conversation_id_of(handover, e2e)
    sandbox.om_agent_join(cid, "Alex Agent")
    message_id = sandbox.om_agent_send(cid, "Hello!")

    def receipts() -> list[dict]:
        messages = sandbox.om_conversation(cid)["messages"]
        return next(m for m in messages if m["id"] == message_id).get("receipts") or []

    wait_for(receipts, what="the receipt", stack=e2e)
    assert [receipt["status"] for receipt in receipts()] == ["Delivered"]


def test_an_agent_message_the_channel_never_got_is_receipted_failed(
    e2e, sandbox, om_settings, channel
):
    om_settings.endpoint.callback_url = channel.url
    om_settings.endpoint.callback_signing_secret = "e2e-signing-secret"
    om_settings.endpoint.save()
    channel.fail_next = 1000  # the channel's callback is down for good
    handover = start(om_settings, transcript=[{"from": "user", "text": "I need a human"}])
    cid = conversation_id_of(handover, e2e)
    sandbox.om_agent_join(cid, "Alex Agent")
    message_id = sandbox.om_agent_send(cid, "Hello?")

    def receipts() -> list[dict]:
        messages = sandbox.om_conversation(cid)["messages"]
        return next(m for m in messages if m["id"] == message_id).get("receipts") or []

    wait_for(receipts, what="the receipt", stack=e2e, timeout=60)
    [receipt] = receipts()
    assert receipt["status"] == "Failed"
    assert receipt["reasons"], receipt  # Genesys shows the agent why
    event = handover.events.get(kind="agent_message")
    assert event.delivery == "failed"


def test_attachments_both_ways_and_a_quick_reply_reach_the_other_side(
    e2e, sandbox, om_settings, channel
):
    om_settings.endpoint.callback_url = channel.url
    om_settings.endpoint.callback_signing_secret = "e2e-signing-secret"
    om_settings.endpoint.save()
    handover = start(om_settings, transcript=[{"from": "user", "text": "I need a human"}])
    cid = conversation_id_of(handover, e2e)
    sandbox.om_agent_join(cid, "Alex Agent")
    picture = {
        "contentType": "Attachment",
        "attachment": {
            "mediaType": "Image",
            "url": "https://api.mypurecloud.de/files/label.png",
            "mime": "image/png",
            "filename": "label.png",
        },
    }
    sandbox.om_agent_send(cid, "", [picture])
    sandbox.om_agent_send(
        cid,
        "Did it help?",
        [{"contentType": "QuickReply", "quickReply": {"text": "Yes", "payload": "yes"}}],
    )
    wait_for(lambda: len(channel.events()) == 3, what="3 callbacks", stack=e2e)
    joined, attachment, question = channel.events()
    assert joined["kind"] == "agent_joined"
    assert attachment["data"]["attachments"] == [
        {
            "url": "https://api.mypurecloud.de/files/label.png",
            "mime": "image/png",
            "filename": "label.png",
            "media_type": "Image",
        }
    ]
    assert question["data"]["quick_replies"] == [{"text": "Yes", "payload": "yes"}]

    handover_message_add(
        handover=handover,
        text="here is mine",
        attachments=[
            {
                "url": "https://files.example.com/r.pdf",
                "mime": "application/pdf",
                "filename": "r.pdf",
            }
        ],
    )

    def sent_content() -> list[Any]:
        messages = sandbox.om_conversation(cid)["messages"]
        return [m["content"] for m in messages if m["direction"] == "Inbound" and m.get("content")]

    [content] = wait_for(sent_content, what="the user's attachment at Genesys", stack=e2e)
    assert content[0]["attachment"]["url"] == "https://files.example.com/r.pdf"


@pytest.mark.browser
def test_the_user_answers_a_quick_reply_as_a_button_response(e2e, sandbox, om_settings, channel):
    """Through the API, the worker and the sandbox; the agent's console shows the answer."""
    from playwright.sync_api import expect
    from rest_framework.test import APIClient

    from tests.factories import TokenFactory, UserFactory
    from tests.genesys_sandbox.test_console_browser import in_browser

    om_settings.endpoint.callback_url = channel.url
    om_settings.endpoint.callback_signing_secret = "e2e-signing-secret"
    om_settings.endpoint.save()
    handover = start(om_settings, transcript=[{"from": "user", "text": "I need a human"}])
    cid = conversation_id_of(handover, e2e)
    sandbox.om_agent_join(cid, "Alex Agent")
    question = sandbox.om_agent_send(
        cid,
        "Did it help?",
        [
            {"contentType": "QuickReply", "quickReply": {"text": "Yes", "payload": "yes"}},
            {"contentType": "QuickReply", "quickReply": {"text": "No", "payload": "no"}},
        ],
    )
    wait_for(lambda: len(channel.events()) == 2, what="the offer at the callback", stack=e2e)
    offer = channel.events()[1]
    assert offer["data"]["quick_replies"][1] == {"text": "No", "payload": "no"}

    api = APIClient()
    user = UserFactory(perms=["endpoints.drive_handover"])
    api.credentials(HTTP_AUTHORIZATION=f"Token {TokenFactory(user=user).key}")
    url = f"/api/v1/handovers/{handover.public_id}/messages/"
    refused = api.post(url, {"quick_reply": {"payload": "maybe"}}, format="json")
    assert refused.status_code == 400
    answer = {"quick_reply": {"payload": "no", "in_reply_to": offer["seq"]}}
    assert api.post(url, answer, format="json").status_code == 202

    def answered() -> list[dict]:
        messages = sandbox.om_conversation(cid)["messages"]
        return [m for m in messages if m["direction"] == "Inbound" and m["type"] == "Structured"]

    [message] = wait_for(answered, what="the button response at Genesys", stack=e2e)
    assert message["content"] == [
        {
            "contentType": "ButtonResponse",
            "buttonResponse": {"type": "QuickReply", "text": "No", "payload": "no"},
        }
    ]
    assert message["originating_message_id"] == question

    def the_console_shows_it(page) -> None:
        page.goto(f"{sandbox.url}/console/")
        page.locator("#om-list button").first.click()
        expect(page.locator("#om-messages")).to_contain_text(
            "Answered: [No] (QuickReply, payload no)"
        )

    in_browser(the_console_shows_it)
