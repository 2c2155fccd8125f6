"""The Genesys relay (``genesys.relay``): which handovers it holds, and how."""

from __future__ import annotations

import logging

import pytest

from endpoints.models import Handover
from genesys.models import OpenMessagingConversation, OpenMessagingSettings, WebChatConversation
from genesys.om_transport import watched_conversations
from genesys.relay import SkippedRows, wanted_streams
from tests.factories import GenesysSettingsFactory, HandoverFactory, OpenMessagingSettingsFactory

pytestmark = pytest.mark.django_db

JWT = "planted-web-chat-jwt-5d1e"


def webchat_handover(endpoint, n: int) -> Handover:
    handover = HandoverFactory(endpoint=endpoint, provider="genesys", status="queued")
    WebChatConversation.objects.create(
        handover=handover,
        conversation_id=f"conversation-{n}",
        member_id=f"member-{n}",
        jwt=f"{JWT}-{n}",
        event_stream_uri=f"wss://streaming.mypurecloud.de/{n}",
    )
    return handover


def om_handover(om_settings, n: int) -> Handover:
    handover = HandoverFactory(endpoint=om_settings.endpoint, provider="genesys_om")
    OpenMessagingConversation.objects.create(
        handover=handover, from_id=f"from-{n}", conversation_id=f"om-conversation-{n}"
    )
    return handover


def relay_errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("genesys.relay")]


# One unreadable row


def test_a_stream_whose_jwt_cannot_be_read_is_skipped_and_logged_without_a_secret(
    settings, new_key, caplog
):
    endpoint = GenesysSettingsFactory().endpoint
    unreadable = webchat_handover(endpoint, 1)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the key that encrypted its JWT is gone
    readable = webchat_handover(endpoint, 2)
    with caplog.at_level(logging.ERROR):
        wanted = wanted_streams({})

    assert set(wanted) == {str(readable.pk)}
    assert wanted[str(readable.pk)][1].conversation_id == "conversation-2"
    [message] = relay_errors(caplog)
    assert f"handover {unreadable.pk} skipped" in message
    assert "WebChatConversation.jwt" in message
    assert JWT not in caplog.text


def test_a_watched_conversation_whose_settings_cannot_be_read_is_skipped(caplog):
    om_settings = OpenMessagingSettingsFactory()
    broken_settings = OpenMessagingSettingsFactory(
        node_authentication=om_settings.node_authentication
    )
    good = om_handover(om_settings, 1)
    broken = om_handover(broken_settings, 2)
    # No region has this host (written past the form's validation).
    OpenMessagingSettings.objects.filter(pk=broken_settings.pk).update(host="gone.example")
    with caplog.at_level(logging.ERROR):
        wanted = watched_conversations()

    connection = om_settings.node_authentication
    assert list(wanted) == [(connection.pk, "mypurecloud.de")]
    assert wanted[(connection.pk, "mypurecloud.de")][2] == {"om-conversation-1"}
    [message] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"handover {broken.pk} skipped" in message
    assert good.pk != broken.pk


def test_a_skipped_handover_is_logged_once_while_it_stays_unreadable(caplog):
    skipped = SkippedRows()
    with caplog.at_level(logging.ERROR):
        for _ in range(3):  # three polls
            skipped(7, KeyError("gone.example"))
        skipped(8, KeyError("gone.example"))
    assert relay_errors(caplog) == [
        "Genesys relay: handover 7 skipped, its row cannot be read: KeyError",
        "Genesys relay: handover 8 skipped, its row cannot be read: KeyError",
    ]
