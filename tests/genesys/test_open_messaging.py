"""Genesys Open Messaging: settings admin, webhooks, the client's bodies, end detection."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from django.db import connection as db_connection
from django.urls import reverse

from endpoints.models import Endpoint, Handover, HandoverEvent
from genesys.models import OpenMessagingConversation, OpenMessagingInbox, OpenMessagingSettings
from genesys.open_messaging import client as open_messaging
from genesys.open_messaging import notifications
from genesys.open_messaging.client import signature
from genesys.open_messaging.tasks import om_end_task, om_webhook_task
from genesys.open_messaging.transport import OpenMessagingTransport, record_webhook_message
from tests.admin_forms import OM_PREFIX, endpoint_form, om_fields
from tests.factories import (
    WEBHOOK_SECRET,
    HandoverFactory,
    OAuth2ConnectionFactory,
    OpenMessagingSettingsFactory,
)

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:endpoints_endpoint_add")


def change_url(endpoint: Endpoint) -> str:
    return reverse("admin:endpoints_endpoint_change", args=[endpoint.pk])


# Admin


def test_the_provider_reveals_its_own_fieldset_with_the_labels(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    assert 'class="module provider-settings provider-genesys_om"' in html
    assert '<option value="genesys_om">Genesys Cloud Open Messaging</option>' in html
    for label in [
        "Integration ID",
        "Deployment Name",
        "Webhook Signature Secret",
        "Outbound Notification Webhook URL",
        "Send Profile Information",
        "Node Authentication",
    ]:
        assert label in html
    for permission in open_messaging.REQUIRED_PERMISSIONS:
        assert permission in html


def om_form(connection_pk: int, **values: str) -> dict[str, str]:
    return endpoint_form(
        handover_provider="genesys_om",
        om=om_fields(node_authentication=str(connection_pk), **values),
    )


def test_saved_settings_keep_the_secret_encrypted_and_show_the_absolute_webhook_url(
    admin_client,
):
    connection = OAuth2ConnectionFactory()
    response = admin_client.post(ADD_URL, om_form(connection.pk, webhook_secret=WEBHOOK_SECRET))
    assert response.status_code == 302, response.content.decode()[-3000:]
    om_settings = OpenMessagingSettings.objects.get()
    assert om_settings.webhook_secret == WEBHOOK_SECRET
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT webhook_secret FROM genesys_openmessagingsettings")
        assert WEBHOOK_SECRET not in cursor.fetchone()[0]
    html = admin_client.get(change_url(om_settings.endpoint)).content.decode()
    assert WEBHOOK_SECRET not in html
    assert f"http://testserver/genesys/open-messaging/{om_settings.webhook_token}/webhook/" in html
    assert 'autocomplete="new-password"' in html
    assert "A secret is stored" in html
    assert len(om_settings.webhook_token) >= 40


def test_the_secret_is_required_and_longer_than_15_characters(admin_client):
    connection = OAuth2ConnectionFactory()
    response = admin_client.post(ADD_URL, om_form(connection.pk))
    assert "Enter the Open Messaging integration" in response.content.decode()
    response = admin_client.post(ADD_URL, om_form(connection.pk, webhook_secret="fifteen-chars!!"))
    assert "Genesys requires more than 15 characters" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_node_authentication_is_required(admin_client):
    response = admin_client.post(
        ADD_URL,
        endpoint_form(handover_provider="genesys_om", om=om_fields(webhook_secret=WEBHOOK_SECRET)),
    )
    assert response.status_code == 200
    assert not OpenMessagingSettings.objects.exists()


def test_blank_secret_on_edit_keeps_it(admin_client):
    om_settings = OpenMessagingSettingsFactory()
    endpoint = om_settings.endpoint
    data = endpoint_form(
        endpoint,
        handover_provider="genesys_om",
        om=om_fields(
            node_authentication=str(om_settings.node_authentication_id),
            deployment_name="Renamed",
        ),
    )
    response = admin_client.post(change_url(endpoint), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    om_settings.refresh_from_db()
    assert om_settings.deployment_name == "Renamed"
    assert om_settings.webhook_secret == WEBHOOK_SECRET
    assert f"{OM_PREFIX}-0-webhook_secret" in data


# Webhooks


def webhook_body(to_id: str, message_id: str = "m-1", text: str = "Hi") -> bytes:
    return json.dumps(
        {
            "id": message_id,
            "channel": {
                "platform": "Open",
                "type": "Private",
                "to": {"id": to_id},
                "from": {"id": "agent-1", "idType": "Opaque", "nickname": "Alex Agent"},
                "time": "2026-01-15T09:30:00.000Z",
                "messageId": message_id,
            },
            "type": "Text",
            "text": text,
            "direction": "Outbound",
        }
    ).encode()


def post(client, path: str, body: bytes, header: str | None) -> Any:
    extra = {} if header is None else {"HTTP_X_HUB_SIGNATURE_256": header}
    return client.post(path, data=body, content_type="application/json", **extra)


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("", 401), ("sha256=bm9wZQ==", 403), ("wrong", 403), ("sha256=", 403)],
)
def test_unsigned_or_missigned_calls_are_refused_before_any_write(
    client, om_handover, header, status, django_capture_on_commit_callbacks
):
    om_settings = om_handover.endpoint.genesys_om_settings
    body = webhook_body(om_handover.genesys_om.from_id)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, om_settings.webhook_path(), body, header)
        end = post(client, om_settings.end_webhook_path(), b'{"conversationId": "x"}', header)
    assert (response.status_code, end.status_code) == (status, status)
    assert callbacks == []
    assert HandoverEvent.objects.count() == 0
    assert not OpenMessagingInbox.objects.exists()


def test_the_end_webhook_ends_the_handover_in_the_request(
    client, om_handover, django_capture_on_commit_callbacks
):
    OpenMessagingConversation.objects.filter(handover=om_handover).update(conversation_id="c-9")
    om_settings = om_handover.endpoint.genesys_om_settings
    body = b'{"conversationId": "c-9"}'
    with django_capture_on_commit_callbacks() as published:
        response = post(
            client, om_settings.end_webhook_path(), body, signature(WEBHOOK_SECRET, body)
        )
    assert (response.status_code, response.json()) == (200, {"ended": True})
    assert not any("om_end_task" in repr(callback) for callback in published)  # no broker
    om_handover.refresh_from_db()
    assert (om_handover.status, om_handover.end_reason) == ("ended", "agent_left")
    again = post(client, om_settings.end_webhook_path(), body, signature(WEBHOOK_SECRET, body))
    assert (again.status_code, again.json()) == (200, {"ended": False})


def test_a_signature_with_another_secret_is_refused(client, om_handover):
    om_settings = om_handover.endpoint.genesys_om_settings
    body = webhook_body(om_handover.genesys_om.from_id)
    wrong = signature("another-secret-of-16+", body)
    assert post(client, om_settings.webhook_path(), body, wrong).status_code == 403
    tampered = body.replace(b"Hi", b"Ho")
    good = signature(WEBHOOK_SECRET, body)
    assert post(client, om_settings.webhook_path(), tampered, good).status_code == 403


def test_an_unknown_token_is_404(client):
    response = post(client, "/genesys/open-messaging/nope/webhook/", b"{}", "sha256=x")
    assert response.status_code == 404


def test_a_signed_message_is_handed_to_the_task_and_recorded_once(
    client, om_handover, django_capture_on_commit_callbacks, monkeypatch
):
    om_settings = om_handover.endpoint.genesys_om_settings
    body = webhook_body(om_handover.genesys_om.from_id)
    delayed: list[tuple] = []
    monkeypatch.setattr(om_webhook_task, "delay", lambda *args: delayed.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, om_settings.webhook_path(), body, signature(WEBHOOK_SECRET, body))
        post(client, om_settings.webhook_path(), body, signature(WEBHOOK_SECRET, body))
    assert response.status_code == 200
    assert delayed == [(om_settings.pk,), (om_settings.pk,)]  # ids only, never the secret
    assert [call.payload for call in OpenMessagingInbox.objects.all()] == [json.loads(body)] * 2
    for args in delayed:
        om_webhook_task.run(*args)
    assert not OpenMessagingInbox.objects.exists()
    kinds = list(om_handover.events.order_by("seq").values_list("kind", "data"))
    assert kinds == [
        ("agent_joined", {"agent_name": "Alex Agent"}),
        ("agent_message", {"text": "Hi", "agent_name": "Alex Agent"}),
    ]


def test_webhook_calls_are_recorded_in_arrival_order(om_handover):
    om_settings = om_handover.endpoint.genesys_om_settings
    to = {"to": {"id": om_handover.genesys_om.from_id}, "from": {"nickname": "Alex Agent"}}
    calls = [
        {"id": "e-1", "channel": to, "type": "Event", "events": [{"eventType": "Typing"}]},
        {"id": "m-1", "channel": to, "type": "Text", "text": "first", "direction": "Outbound"},
        {"id": "m-2", "channel": to, "type": "Text", "text": "second", "direction": "Outbound"},
    ]
    for payload in calls:
        OpenMessagingInbox.objects.create(settings=om_settings, payload=payload)
    assert om_webhook_task.run(om_settings.pk) == 3
    assert list(om_handover.events.order_by("seq").values_list("kind", flat=True)) == [
        "agent_typing",
        "agent_joined",
        "agent_message",
        "agent_message",
    ]
    texts = om_handover.events.filter(kind="agent_message").order_by("seq")
    assert [event.data["text"] for event in texts] == ["first", "second"]
    assert om_webhook_task.run(om_settings.pk) == 0


def test_typing_and_unknown_recipients(om_handover):
    om_settings = om_handover.endpoint.genesys_om_settings
    typing = {
        "id": "e-1",
        "channel": {"to": {"id": om_handover.genesys_om.from_id}, "from": {"nickname": "A"}},
        "type": "Event",
        "events": [{"eventType": "Typing", "typing": {"type": "On", "duration": 5000}}],
    }
    assert record_webhook_message(om_settings.pk, typing) == "agent typing"
    other = {**typing, "channel": {"to": {"id": "someone-else"}}}
    assert record_webhook_message(om_settings.pk, other) == "no open handover"
    assert list(om_handover.events.values_list("kind", flat=True)) == ["agent_typing"]


def test_the_end_task_ends_the_handover_once(om_handover):
    OpenMessagingConversation.objects.filter(handover=om_handover).update(conversation_id="c-1")
    settings_id = om_handover.endpoint.genesys_om_settings.pk
    assert om_end_task.run(settings_id, "c-1") is True
    assert om_end_task.run(settings_id, "c-1") is False
    om_handover.refresh_from_db()
    assert om_handover.end_reason == "agent_left"


# What the client sends, against the official SDK's models


def sdk_fields(model: str) -> set[str]:
    sdk = pytest.importorskip("PureCloudPlatformClientV2")
    return set(getattr(sdk, model)().attribute_map.values())


def test_inbound_bodies_use_the_sdk_field_names(connection, sandbox):
    om_settings = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id, node_authentication=connection
    )
    handover = HandoverFactory(
        endpoint=om_settings.endpoint, provider="genesys_om", profile={"first_name": "Ada"}
    )
    om_settings.send_profile_information = True
    om_settings.save()
    transport = OpenMessagingTransport()
    transport.start(handover)
    message = handover.outbox.create(text="hello")
    transport.send(handover, message)
    transport.send_typing(handover)
    [inbound] = sandbox.requests("/api/v2/conversations/messages/")[:1]
    body = inbound["json"]
    assert set(body) <= sdk_fields("OpenInboundNormalizedMessage")
    assert set(body["channel"]) <= sdk_fields("OpenInboundMessageMessagingChannel")
    assert set(body["channel"]["from"]) <= sdk_fields("OpenMessagingFromRecipient")
    assert body["channel"]["from"]["firstName"] == "Ada"
    typing = next(
        r["json"] for r in sandbox.requests() if r["path"].endswith("/inbound/open/event")
    )
    assert set(typing) <= sdk_fields("OpenInboundNormalizedEvent")
    assert set(typing["channel"]) <= sdk_fields("OpenInboundMessagingChannel")
    # The SDK's request model OpenEvent has eventType only; typing is OpenMessageEvent's.
    assert set(typing["events"][0]) <= sdk_fields("OpenMessageEvent")
    assert set(typing["events"][0]["typing"]) <= sdk_fields("ConversationEventTyping")
    handover.refresh_from_db()
    assert handover.genesys_om.conversation_id


# End detection


def event(*participants: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "participants": [
            {"id": pid, "purpose": purpose, "messages": [{"state": state}], "name": pid}
            for pid, purpose, state in participants
        ]
    }


def test_read_participants():
    read = notifications.read_participants
    queued = read(event(("c", "customer", "connected"), ("q", "acd", "connected")))
    assert (queued.customer_over, queued.abandoned) == (False, False)
    talking = read(event(("c", "customer", "connected"), ("a", "agent", "connected")))
    assert talking.agent_connected
    assert talking.agents == {"a": ("a", True)}
    limbo = read(event(("c", "customer", "connected"), ("a", "agent", "disconnected")))
    assert limbo.abandoned
    assert not limbo.customer_over
    over = read({"participants": [{"purpose": "customer", "state": "disconnected"}]})
    assert over.customer_over


def test_the_end_after_the_grace_period_is_checked_against_the_conversation(monkeypatch):
    """A queue that connected without a frame reaching us (a dropped frame) keeps the handover:
    the timer asks the conversation. The e2e tests (``tests/e2e/test_open_messaging.py``) cover
    the rest against the sandbox: a transfer within the grace keeps the handover, nobody
    reconnecting ends it after the grace."""
    ends: list[str] = []

    async def on_participants(cid, participants):
        return ""

    async def on_abandoned(cid):
        ends.append(cid)

    queued = event(("c", "customer", "connected"), ("q", "acd", "connected"))
    monkeypatch.setattr(open_messaging, "get_conversation", lambda client, cid: queued)
    from genesys.platform.regions import get_region

    channel = notifications.NotificationChannel(
        get_region("mypurecloud.de"),
        OAuth2ConnectionFactory.build(),
        on_participants,
        on_abandoned,
        grace_seconds=0.2,
    )
    channel.watch({"c-1"})

    async def scenario() -> None:
        limbo = event(("c", "customer", "connected"), ("a", "agent", "disconnected"))
        await channel._on_conversation("c-1", limbo)
        assert "c-1" in channel._grace  # the timer runs
        await asyncio.sleep(0.4)
        assert channel._grace == {}  # and has fired

    asyncio.run(scenario())
    assert ends == []


def test_webhook_token_is_unique_per_endpoint():
    first, second = OpenMessagingSettingsFactory(), OpenMessagingSettingsFactory()
    assert first.webhook_token != second.webhook_token
    assert uuid.UUID(str(first.integration_id))
    assert Handover.objects.count() == 0


def test_test_connection_checks_the_integration_and_its_webhook_url(connection, sandbox):
    om_settings = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=connection,
    )
    provider = om_settings.endpoint.get_provider()
    sandbox.put_open_integration("https://elsewhere.example/hook", WEBHOOK_SECRET, name="Bot")
    findings = provider.test_connection(om_settings.endpoint)
    assert not findings[1].ok
    assert "not to this endpoint's Outbound Notification Webhook URL" in findings[1].text
    sandbox.put_open_integration(
        "https://portal.example" + om_settings.webhook_path(), WEBHOOK_SECRET, name="Bot"
    )
    findings = provider.test_connection(om_settings.endpoint)
    assert [finding.ok for finding in findings] == [True, True, True, True, True, True], findings
    assert "Agent availability (messages)" in findings[-2].text
    assert "No enabled Process Automation trigger" in findings[-1].text


CHECK_PERMISSIONS = ["oauth:client:view", "authorization:role:view"]


@pytest.fixture
def om_test_settings(connection, sandbox):
    om_settings = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=connection,
    )
    sandbox.put_open_integration(
        "https://portal.example" + om_settings.webhook_path(), WEBHOOK_SECRET, name="Bot"
    )
    return om_settings


def permission_finding(om_settings) -> Any:
    findings = om_settings.endpoint.get_provider().test_connection(om_settings.endpoint)
    return findings[2]  # token, integration, permissions, queue, availability


def test_test_connection_finds_every_required_permission_granted(om_test_settings, sandbox):
    # The default sandbox client: one role granting *:*:*.
    finding = permission_finding(om_test_settings)
    assert finding.ok, finding
    assert "grant all 9 required permissions" in finding.text
    # Exactly the required ones (plus the two to read them) also do.
    client_id = om_test_settings.node_authentication.client_id
    listed = [*CHECK_PERMISSIONS, *open_messaging.REQUIRED_PERMISSIONS]
    sandbox.put_client(client_id, "sandbox-secret-x", permissions=listed)
    om_test_settings.node_authentication.client_secret = "sandbox-secret-x"
    om_test_settings.node_authentication.save()
    assert permission_finding(om_test_settings).ok


def test_test_connection_names_the_missing_permissions(om_test_settings, sandbox):
    client_id = om_test_settings.node_authentication.client_id
    granted = [
        *CHECK_PERMISSIONS,
        "messaging:integration:view",
        "conversations:message:receive",
        "conversation:*:view",  # wildcards count: webmessaging and message
        "analytics:*:*",
        "routing:queue:view",
    ]
    sandbox.put_client(client_id, "sandbox-secret-y", permissions=granted)
    om_test_settings.node_authentication.client_secret = "sandbox-secret-y"
    om_test_settings.node_authentication.save()
    finding = permission_finding(om_test_settings)
    assert not finding.ok
    assert "lack 2 required permissions: conversations:message:create, " in finding.text
    assert "conversation:communication:disconnect." in finding.text
    assert "conversation:message:view" not in finding.text
    assert "Admin → Integrations → OAuth → your client → Roles" in finding.text


def test_test_connection_says_when_the_client_may_not_read_its_roles(om_test_settings, sandbox):
    client_id = om_test_settings.node_authentication.client_id
    sandbox.put_client(
        client_id, "sandbox-secret-z", permissions=list(open_messaging.REQUIRED_PERMISSIONS)
    )
    om_test_settings.node_authentication.client_secret = "sandbox-secret-z"
    om_test_settings.node_authentication.save()
    findings = om_test_settings.endpoint.get_provider().test_connection(om_test_settings.endpoint)
    finding = findings[2]
    assert not finding.ok
    assert "Could not check the OAuth client's permissions" in finding.text
    assert "oauth:client:view and authorization:role:view" in finding.text
    assert "conversation:communication:disconnect" in finding.text
    # The rest of the test still runs (the trigger lookup needs another permission).
    assert [f.ok for f in findings] == [True, True, False, True, True, False], findings
