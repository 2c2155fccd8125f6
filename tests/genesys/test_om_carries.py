"""What Open Messaging carries besides text: routing attributes, bot messages, receipts
(against the sandbox, through the outbox)."""

from __future__ import annotations

import pytest

from endpoints.outbox import outbox_send
from endpoints.services import handover_message_add, handover_start
from endpoints.tasks import handover_start_task
from tests.conftest import CLIENT_ID
from tests.factories import OAuth2ConnectionFactory, OpenMessagingSettingsFactory

pytestmark = pytest.mark.django_db

PROFILE = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "tier": "2"}
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
