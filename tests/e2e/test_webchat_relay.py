"""Handovers through the real broker, worker and relay, with the sandbox as Genesys."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from endpoints.handovers import tasks
from endpoints.handovers.callbacks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from endpoints.handovers.services import handover_message_add, handover_start
from endpoints.models import Handover, OutboundMessage
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import sweep_until, wait_for
from tests.factories import (
    GenesysSettingsFactory,
    OAuth2ConnectionFactory,
    TokenFactory,
    UserFactory,
)
from tests.processes import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DRIVE = "endpoints.drive_handover"
PROFILE = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "tier": "gold"}


@pytest.fixture
def endpoint(e2e: Stack, sandbox: Any):
    settings = GenesysSettingsFactory(
        organization_id=sandbox.organization_id,
        deployment_id=sandbox.deployment_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    )
    return settings.endpoint


def start(endpoint, **kwargs: Any) -> Handover:
    handover, created = handover_start(
        endpoint=endpoint,
        user_id=kwargs.pop("user_id", "user-1"),
        session_id=kwargs.pop("session_id", str(uuid.uuid4())),
        **kwargs,
    )
    assert created
    return handover


def conversation_of(handover: Handover, sandbox: Any, e2e: Stack) -> dict[str, Any]:
    def created() -> Any:
        handover.refresh_from_db()
        return getattr(handover, "genesys_webchat", None)

    webchat = wait_for(created, what="the Genesys conversation", stack=e2e)
    return sandbox.conversation(webchat.conversation_id)


def customer_texts(sandbox: Any, conversation_id: str) -> list[str]:
    conversation = sandbox.conversation(conversation_id)
    customer = conversation["customer"]["id"]
    return [
        message["body"]
        for message in conversation["messages"]
        if message["sender"]["id"] == customer and message["bodyType"] == "standard"
    ]


def kinds(handover: Handover) -> list[str]:
    return list(handover.events.order_by("seq").values_list("kind", flat=True))


def wait_kinds(handover: Handover, expected: list[str], e2e: Stack) -> None:
    wait_for(lambda: kinds(handover) == expected, what=f"events {expected}", stack=e2e)


def test_a_whole_handover_through_the_api(e2e, sandbox, endpoint):
    """What a channel does: start, poll events, send, and the agent ends it."""
    channel = APIClient()
    channel.credentials(
        HTTP_AUTHORIZATION=f"Token {TokenFactory(user=UserFactory(perms=[DRIVE])).key}"
    )
    response = channel.post(
        f"/api/v1/endpoints/{endpoint.public_id}/handovers/",
        {
            "user_id": "user-1",
            "session_id": "session-1",
            "transcript": [
                {"from": "user", "text": "I need a human", "at": "2026-01-15T09:30:00Z"},
                {"from": "bot", "text": "Connecting you", "at": "2026-01-15T09:30:02Z"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    handover = Handover.objects.get(public_id=response.json()["id"])
    cid = conversation_of(handover, sandbox, e2e)["id"]
    wait_for(lambda: customer_texts(sandbox, cid), what="the transcript", stack=e2e)
    [transcript] = customer_texts(sandbox, cid)
    assert transcript.splitlines() == [
        "Conversation with the bot before the handover:",
        "User (09:30): I need a human",
        "Bot (09:30): Connecting you",
    ]

    def events(after: int) -> dict[str, Any]:
        return channel.get(f"/api/v1/handovers/{handover.public_id}/events/?after={after}").json()

    sandbox.agent_join(cid, name="Alex Agent")
    sandbox.agent_send(cid, "Hello, how can I help?")
    first = wait_for(lambda: (page := events(0))["events"][1:] and page, stack=e2e, what="2")
    assert [(event["kind"], event["data"]) for event in first["events"]] == [
        ("agent_joined", {"agent_name": "Alex Agent"}),
        ("agent_message", {"text": "Hello, how can I help?", "agent_name": "Alex Agent"}),
    ]
    assert channel.get(f"/api/v1/handovers/{handover.public_id}/").json()["status"] == "active"

    response = channel.post(
        f"/api/v1/handovers/{handover.public_id}/messages/",
        {"text": "My order is late", "client_message_id": "m1"},
        format="json",
    )
    assert response.status_code == 202
    wait_for(
        lambda: customer_texts(sandbox, cid)[1:] == ["My order is late"],
        what="the user's message at the agent",
        stack=e2e,
    )

    sandbox.agent_leave(cid, end_conversation=True)
    rest = wait_for(
        lambda: (page := events(first["next_cursor"]))["events"][1:] and page,
        stack=e2e,
        what="the end",
    )
    assert [event["kind"] for event in rest["events"]] == ["agent_left", "ended"]
    assert rest["events"][-1]["data"] == {"reason": "agent_left"}
    assert events(rest["next_cursor"])["events"] == []  # each event seen exactly once


def test_the_user_ends_it_through_the_api(e2e, sandbox, endpoint):
    handover = start(endpoint)
    cid = conversation_of(handover, sandbox, e2e)["id"]
    channel = APIClient()
    channel.credentials(
        HTTP_AUTHORIZATION=f"Token {TokenFactory(user=UserFactory(perms=[DRIVE])).key}"
    )
    response = channel.delete(f"/api/v1/handovers/{handover.public_id}/")
    assert response.json()["end_reason"] == "user_ended"
    wait_for(
        lambda: sandbox.conversation(cid)["customer"]["state"] == "DISCONNECTED",
        what="the guest to leave the Genesys chat",
        stack=e2e,
    )


@pytest.mark.parametrize("send_profile", [True, False])
def test_profile_is_sent_only_when_allowed(e2e, sandbox, endpoint, send_profile):
    endpoint.genesys_settings.send_profile_information = send_profile
    endpoint.genesys_settings.save()
    handover = start(endpoint, profile=PROFILE, custom_fields={"order": "A-17"})
    conversation = conversation_of(handover, sandbox, e2e)
    [create] = [
        request
        for request in sandbox.requests("/api/v2/webchat/guest/conversations")
        if request["method"] == "POST" and request["path"] == "/api/v2/webchat/guest/conversations"
    ]
    member_info = create["json"]["memberInfo"]
    if send_profile:
        assert member_info == {
            "displayName": "Ada Lovelace",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.com",
            "customFields": {"tier": "gold", "order": "A-17"},
        }
        assert conversation["customer"]["displayName"] == "Ada Lovelace"
    else:
        assert member_info == {"displayName": "Guest"}
        assert "Ada" not in str(create["json"])
        assert "ada@example.com" not in str(sandbox.state())


def test_200_rapid_messages_arrive_in_order_with_two_workers(e2e, sandbox, endpoint):
    if len(e2e.workers) < 2:
        e2e.start_worker("second")
    handover = start(endpoint)
    cid = conversation_of(handover, sandbox, e2e)["id"]
    sent = [f"message {n:03}" for n in range(200)]
    for n, text in enumerate(sent):
        handover_message_add(handover=handover, text=text, client_message_id=f"c{n}")
    wait_for(
        lambda: len(customer_texts(sandbox, cid)) >= 200,
        timeout=90,
        what="200 messages at the agent",
        stack=e2e,
    )
    assert customer_texts(sandbox, cid) == sent
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_repeated_client_message_id_is_sent_once(e2e, sandbox, endpoint):
    handover = start(endpoint)
    cid = conversation_of(handover, sandbox, e2e)["id"]
    first, created = handover_message_add(handover=handover, text="once", client_message_id="x")
    again, created_again = handover_message_add(
        handover=handover, text="once", client_message_id="x"
    )
    assert (created, created_again, first.pk) == (True, False, again.pk)
    handover_message_add(handover=handover, text="after", client_message_id="y")
    wait_for(lambda: customer_texts(sandbox, cid) == ["once", "after"], stack=e2e, what="sends")


def test_killing_a_worker_mid_send_loses_and_duplicates_nothing(e2e, sandbox, endpoint):
    handover = start(endpoint)
    cid = conversation_of(handover, sandbox, e2e)["id"]
    # Genesys takes 3 s to answer the first send: the worker dies waiting for it, after
    # Genesys has received the message.
    sandbox.add_fault(
        f"/api/v2/webchat/guest/conversations/{cid}/members", method="POST", delay_seconds=3
    )
    handover_message_add(handover=handover, text="survives the crash", client_message_id="k1")
    wait_for(
        lambda: OutboundMessage.objects.filter(status="sending").exists(),
        what="the send in flight",
        stack=e2e,
    )
    for worker in e2e.workers:
        worker.kill()
    e2e.workers.clear()
    handover_message_add(handover=handover, text="sent after the crash", client_message_id="k2")
    e2e.start_worker("replacement")
    # The dead worker's lease runs out; the sweeper hands its work to the new worker, which
    # finds the first message already in the conversation's history and does not resend it.
    wait_for(
        lambda: (
            tasks.relay_sweep_task.delay()
            and not OutboundMessage.objects.exclude(status="sent").exists()
        ),
        timeout=40,
        what="the outbox to drain after the crash",
        stack=e2e,
    )
    assert customer_texts(sandbox, cid) == ["survives the crash", "sent after the crash"]


def test_agent_messages_survive_a_dropped_event_stream(e2e, sandbox, endpoint):
    handover = start(endpoint)
    cid = conversation_of(handover, sandbox, e2e)["id"]
    sandbox.agent_join(cid)
    wait_kinds(handover, ["agent_joined"], e2e)
    sandbox.agent_send(cid, "before the drop")
    wait_kinds(handover, ["agent_joined", "agent_message"], e2e)
    assert sandbox.drop_streams() >= 1
    sandbox.agent_send(cid, "while it was down")
    sandbox.agent_send(cid, "after the drop")
    wait_for(
        lambda: handover.events.filter(kind="agent_message").count() >= 3,
        what="three agent messages",
        stack=e2e,
    )
    texts = list(
        handover.events.filter(kind="agent_message")
        .order_by("seq")
        .values_list("data__text", flat=True)
    )
    assert texts == ["before the drop", "while it was down", "after the drop"]


def test_expiry_warns_then_ends_and_leaves_the_genesys_chat(e2e, sandbox, endpoint):
    endpoint.genesys_settings.session_duration_minutes = 1
    endpoint.genesys_settings.save()
    handover = start(endpoint)
    cid = conversation_of(handover, sandbox, e2e)["id"]
    assert handover.session_duration_minutes == 1
    # Time passes: the handover was last active 45 s ago (its warning is due, not its end).
    past = timezone.now() - timedelta(seconds=45)
    Handover.objects.filter(pk=handover.pk).update(
        last_activity_at=past, expires_at=past + timedelta(minutes=1), warn_at=past
    )
    sweep_until(lambda: kinds(handover) == ["expiry_warning"], what="the warning", stack=e2e)
    Handover.objects.filter(pk=handover.pk).update(expires_at=timezone.now())
    sweep_until(lambda: kinds(handover) == ["expiry_warning", "ended"], what="the end", stack=e2e)
    handover.refresh_from_db()
    assert handover.end_reason == "expired"
    wait_for(
        lambda: sandbox.conversation(cid)["customer"]["state"] == "DISCONNECTED",
        what="the guest to leave the Genesys chat",
        stack=e2e,
    )


def test_callbacks_are_signed_and_retried(e2e, sandbox, endpoint, channel):
    endpoint.callback_url = channel.url
    endpoint.callback_signing_secret = "e2e-signing-secret"
    endpoint.save()
    channel.fail_next = 2
    handover = start(endpoint)
    cid = conversation_of(handover, sandbox, e2e)["id"]
    sandbox.agent_join(cid, name="Alex Agent")
    sandbox.agent_send(cid, "signed hello")
    wait_for(lambda: len(channel.received) >= 2, what="two callbacks", stack=e2e)
    assert [event["kind"] for event in channel.events()] == ["agent_joined", "agent_message"]
    for received in channel.received:
        assert verify(
            "e2e-signing-secret",
            received["headers"][TIMESTAMP_HEADER],
            received["body"],
            received["headers"][SIGNATURE_HEADER],
        )


def test_an_expiry_of_several_leaves_each_genesys_chat(e2e, sandbox, endpoint):
    """A batch: its disconnects are published by the worker (``publish_each_task``)."""
    handovers = [start(endpoint) for _ in range(3)]
    cids = [conversation_of(handover, sandbox, e2e)["id"] for handover in handovers]
    Handover.objects.filter(pk__in=[h.pk for h in handovers]).update(
        expires_at=timezone.now() - timedelta(seconds=1), warn_at=None
    )
    sweep_until(
        lambda: all(kinds(handover) == ["ended"] for handover in handovers),
        what="every end",
        stack=e2e,
    )
    wait_for(
        lambda: all(
            sandbox.conversation(cid)["customer"]["state"] == "DISCONNECTED" for cid in cids
        ),
        what="each guest to leave the Genesys chat",
        stack=e2e,
    )
