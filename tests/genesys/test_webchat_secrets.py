"""The web chat conversation's JWT and stream URI: encrypted, and shown nowhere."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from genesys.models import WebChatConversation
from tests.factories import HandoverFactory, TokenFactory, UserFactory

pytestmark = pytest.mark.django_db

JWT = "eyJplanted.jwt-of-the-guest.signature"
STREAM = "wss://streaming.mypurecloud.de/v2/channels/planted-stream-token"


@pytest.fixture
def handover():
    handover = HandoverFactory(status="active", agent_name="Alex Agent")
    WebChatConversation.objects.create(
        handover=handover, conversation_id="c-1", member_id="m-1", jwt=JWT, event_stream_uri=STREAM
    )
    return handover


def test_credentials_are_encrypted_at_rest(handover):
    with connection.cursor() as cursor:
        cursor.execute("SELECT jwt, event_stream_uri FROM genesys_webchatconversation")
        row = cursor.fetchone()
    assert JWT not in row[0]
    assert "planted-stream-token" not in row[1]
    assert WebChatConversation.objects.get().jwt == JWT


def test_neither_the_admin_nor_the_api_shows_them(admin_client, handover):
    pages = [
        admin_client.get(reverse("admin:endpoints_handover_change", args=[handover.pk])),
        admin_client.get(reverse("admin:endpoints_handover_changelist")),
    ]
    api = APIClient()
    token = TokenFactory(user=UserFactory(perms=["endpoints.drive_handover"]))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    pages.append(api.get(f"/api/v1/handovers/{handover.public_id}/"))
    pages.append(api.get(f"/api/v1/handovers/{handover.public_id}/events/"))
    for page in pages:
        assert page.status_code == 200
        assert JWT.encode() not in page.content
        assert b"planted-stream-token" not in page.content
