"""The Genesys trigger recipe: the end webhook's bearer secret, Test connection's finding."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from endpoints.models import HandoverStatus
from genesys.models import OpenMessagingConversation
from genesys.open_messaging.client import SIGNATURE_HEADER, signature
from genesys.open_messaging.end_trigger import CUSTOMER_END_TOPIC, end_detection_finding
from tests.factories import WEBHOOK_SECRET, HandoverFactory, OpenMessagingSettingsFactory

pytestmark = pytest.mark.django_db

END_SECRET = "a-separate-end-webhook-secret"


def om_with_conversation(**fields):
    om_settings = OpenMessagingSettingsFactory(**fields)
    handover = HandoverFactory(endpoint=om_settings.endpoint, provider="genesys_om")

    OpenMessagingConversation.objects.create(
        handover=handover, from_id="from-1", conversation_id="conv-1"
    )
    return om_settings, handover


def post_end(om_settings, headers: dict[str, str], body: bytes | None = None):
    body = body or json.dumps({"conversationId": "conv-1"}).encode()
    return Client().post(
        om_settings.end_webhook_path(), body, content_type="application/json", headers=headers
    )


def test_the_end_webhook_takes_the_end_webhook_secret_as_a_bearer():
    om_settings, handover = om_with_conversation(end_webhook_secret=END_SECRET)
    assert (
        post_end(om_settings, {"Authorization": "Bearer wrong-secret-xxxxxxxx"}).status_code == 403
    )
    response = post_end(om_settings, {"Authorization": f"Bearer {END_SECRET}"})
    assert response.json() == {"ended": True}
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.ENDED


def test_without_an_end_webhook_secret_a_bearer_is_refused_and_a_signature_still_works():
    om_settings, _ = om_with_conversation()
    assert post_end(om_settings, {"Authorization": f"Bearer {WEBHOOK_SECRET}"}).status_code == 403
    assert post_end(om_settings, {}).status_code == 401
    body = json.dumps({"conversationId": "conv-1"}).encode()
    signed = {SIGNATURE_HEADER: signature(WEBHOOK_SECRET, body)}
    assert post_end(om_settings, signed, body).json() == {"ended": True}


def test_the_message_webhook_never_takes_a_bearer():
    om_settings, _ = om_with_conversation(end_webhook_secret=END_SECRET)
    response = Client().post(
        om_settings.webhook_path(),
        b"{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {END_SECRET}"},
    )
    assert response.status_code == 401


# Test connection


@pytest.fixture
def om_settings(connection, sandbox):
    return OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id, node_authentication=connection
    )


def test_an_enabled_trigger_on_customer_end_is_named(om_settings, sandbox):
    om_settings.end_webhook_secret = END_SECRET
    om_settings.save()
    sandbox.add_trigger("Other topic", topic_name="v2.detail.events.conversation.{id}.acw")
    sandbox.add_trigger("Disabled", enabled=False)
    trigger = sandbox.add_trigger("End handover")
    finding = end_detection_finding(om_settings)
    assert finding.ok, finding
    assert "“End handover”" in finding.text
    assert trigger["target"]["id"] in finding.text
    assert "Disabled" not in finding.text
    assert "Other topic" not in finding.text
    [lookup] = sandbox.requests("/api/v2/processautomation/triggers")
    assert lookup["query"]["topicName"] == CUSTOMER_END_TOPIC


def test_a_trigger_without_an_end_webhook_secret_is_flagged(om_settings, sandbox):
    sandbox.add_trigger("End handover")
    finding = end_detection_finding(om_settings)
    assert not finding.ok
    assert "no End Webhook Secret is stored" in finding.text


def test_no_trigger_means_the_relay_channels(om_settings, sandbox):
    finding = end_detection_finding(om_settings)
    assert finding.ok
    assert "relies on the relay's Notifications API channels" in finding.text
    assert "trigger recipe" in finding.text


def test_a_403_names_the_permission_to_grant(om_settings, sandbox):
    client_id = om_settings.node_authentication.client_id
    sandbox.put_client(client_id, "sandbox-secret-t", permissions=["conversation:message:view"])
    om_settings.node_authentication.client_secret = "sandbox-secret-t"
    om_settings.node_authentication.save()
    finding = end_detection_finding(om_settings)
    assert not finding.ok
    assert "processautomation:trigger:view" in finding.text
