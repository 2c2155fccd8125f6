"""End detection: a channel rebuilt before its lifetime, with the relay in this process
against the sandbox. The 1,500 open handovers and the rotated client secret run through the
relay process: ``tests/e2e/test_end_detection_at_scale.py``."""

from __future__ import annotations

import pytest

from endpoints.models import Handover, HandoverStatus
from genesys.models import OpenMessagingConversation
from genesys.relay import GenesysRelay
from tests.e2e.conftest import wait_for
from tests.factories import HandoverFactory, OpenMessagingSettingsFactory
from tests.genesys.test_relay import running

pytestmark = pytest.mark.django_db(transaction=True)

CHANNELS = "/api/v2/notifications/channels"


def open_handovers(sandbox, connection, count: int) -> list[str]:
    """``count`` open Open Messaging handovers, their Genesys conversations waiting in the
    sandbox (made in bulk on both sides); the conversation ids."""
    om_settings = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id, node_authentication=connection
    )
    user_ids = [f"hp-scale-{n}" for n in range(count)]
    conversation_ids = sandbox.om_start_conversations(user_ids)
    handovers = Handover.objects.bulk_create(
        HandoverFactory.build(endpoint=om_settings.endpoint, provider="genesys_om")
        for _ in range(count)
    )
    OpenMessagingConversation.objects.bulk_create(
        OpenMessagingConversation(handover=h, from_id=user_id, conversation_id=cid)
        for h, user_id, cid in zip(handovers, user_ids, conversation_ids, strict=True)
    )
    return conversation_ids


def channels(sandbox) -> list[dict]:
    return sandbox.state()["notification_channels"]


def test_a_channel_is_rebuilt_before_its_lifetime_ends_and_catches_up(
    genesys, connection, settings
):
    settings.GENESYS_NOTIFICATIONS_CHANNEL_LIFETIME_SECONDS = 1.0
    [cid] = open_handovers(genesys, connection, 1)
    read = f"/api/v2/conversations/messages/{cid}"

    with running(GenesysRelay(poll_seconds=0.1, threads=2)):
        wait_for(
            lambda: genesys.request_count(CHANNELS, method="POST") >= 3,
            what="a third channel",
            timeout=20,
        )
        assert genesys.request_count(read, method="GET") >= 2  # caught up on each

    assert Handover.objects.get().status != HandoverStatus.ENDED
