"""Genesys Cloud Open Messaging: the platform API calls of the Open Messaging transport.

Request bodies follow the official SDK's models (``PureCloudPlatformClientV2``):
``OpenInboundNormalizedMessage`` {``channel`` (``OpenInboundMessageMessagingChannel``:
``from``, ``time``, ``messageId``, ``metadata``), ``text``}, ``OpenInboundNormalizedEvent``
{``channel`` (``OpenInboundMessagingChannel``: ``from``, ``time``), ``events`` [``OpenEvent``]}, and
``OpenMessagingFromRecipient`` {``id``, ``idType``, ``firstName``, ``lastName``, …}, and for
the user's answer to a quick reply ``OpenInboundStructuredResponseMessage`` {``channel``,
``buttonResponse``, ``originatingMessageId``}. ``tests/genesys/test_sdk_request_bodies.py``
checks every body against them.
Every call carries the OAuth2 token of the settings' Node Authentication.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from genesys.models import OpenMessagingSettings
from genesys.platform import errors
from genesys.platform.client import GenesysClient
from genesys.platform.timestamps import CLOCK_SKEW, parse_timestamp

INTEGRATION_VIEW = "messaging:integration:view"
MESSAGE_RECEIVE = "conversations:message:receive"
MESSAGE_CREATE = "conversations:message:create"
MESSAGE_VIEW = "conversation:message:view"
COMMUNICATION_DISCONNECT = "conversation:communication:disconnect"

#: The OAuth client's role needs these (the admin lists them; "Test connection" checks).
REQUIRED_PERMISSIONS = (
    INTEGRATION_VIEW,
    MESSAGE_RECEIVE,
    MESSAGE_CREATE,
    "conversation:webmessaging:view",
    MESSAGE_VIEW,
    "analytics:conversationDetail:view",
    COMMUNICATION_DISCONNECT,
    "routing:queue:view",
    "analytics:queueObservation:view",
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
CUSTOMER = "customer"
DISCONNECTED = "disconnected"


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value of ``body``: ``sha256=`` + base64 HMAC-SHA256."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return SIGNATURE_PREFIX + base64.b64encode(digest).decode("ascii")


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` (constant-time comparison)."""
    if not secret:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_recipient(from_id: str, profile: dict[str, Any] | None) -> dict[str, Any]:
    """``OpenMessagingFromRecipient``: the opaque id, and the name only when ``profile``."""
    recipient: dict[str, Any] = {"id": from_id, "idType": "Opaque"}
    for key, field in (("first_name", "firstName"), ("last_name", "lastName")):
        value = str((profile or {}).get(key) or "").strip()
        if value:
            recipient[field] = value[:255]
    return recipient


def _inbound_path(integration_id: str, kind: str) -> str:
    return f"/api/v2/conversations/messages/{quote(integration_id)}/inbound/open/{kind}"


def send_inbound_message(
    client: GenesysClient,
    integration_id: str,
    *,
    sender: dict[str, Any],
    message_id: str,
    text: str,
    content: list[dict[str, Any]] | None = None,
    custom_attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``POST …/inbound/open/message``: the user's message to the agent, with its
    attachments by URL in ``content`` (``genesys.open_messaging.content.inbound_content``).

    Answers ``OpenMessageNormalizedMessage`` (``id``, ``conversationId``: asked for with
    ``prefetchConversationId``). ``messageId`` is ours and stable: a resend is the same message.
    ``custom_attributes`` go as ``channel.metadata.customAttributes`` (string → string), which
    an inbound message flow reads with Get Participant Data. The SDK types
    ``channel.metadata`` as ``ConversationChannelMetadata`` and lists only ``subType`` in it;
    Genesys's Open Messaging documentation names ``customAttributes`` there.
    """
    channel: dict[str, Any] = {"from": sender, "time": _now(), "messageId": message_id}
    if custom_attributes:
        channel["metadata"] = {"customAttributes": dict(custom_attributes)}
    body: dict[str, Any] = {"channel": channel, "text": text}
    if content:
        body["content"] = content
    return (
        client.request(
            "POST",
            _inbound_path(integration_id, "message"),
            what="the Open Messaging inbound message",
            permission=MESSAGE_RECEIVE,
            json=body,
            params={"prefetchConversationId": "true"},
            # No documented deduplication by channel.messageId: a timeout is not retried
            # here but left to the outbox, which asks Genesys (find_sent_message) first.
            idempotent=False,
        )
        or {}
    )


#: ``ContentButtonResponse.type`` of an answer to a quick reply.
QUICK_REPLY = "QuickReply"


def send_structured_response(
    client: GenesysClient,
    integration_id: str,
    *,
    sender: dict[str, Any],
    message_id: str,
    text: str,
    payload: str,
    originating_message_id: str = "",
    custom_attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``POST …/inbound/open/structured/response``: the user answers an agent's quick reply.

    Body ``OpenInboundStructuredResponseMessage`` {``channel`` (as for a message),
    ``buttonResponse`` (``ContentButtonResponse``: ``type`` ``QuickReply``, ``text``,
    ``payload``), ``originatingMessageId``: Genesys's id of the agent message offering it};
    Genesys records a ``Structured`` inbound message with one ``ButtonResponse`` content and
    answers ``OpenStructuredResponseNormalizedMessage`` (``id``; no ``conversationId``: the
    answer belongs to the user's existing conversation). Not retried here, as for messages.
    """
    channel: dict[str, Any] = {"from": sender, "time": _now(), "messageId": message_id}
    if custom_attributes:
        channel["metadata"] = {"customAttributes": dict(custom_attributes)}
    body: dict[str, Any] = {
        "channel": channel,
        "buttonResponse": {"type": QUICK_REPLY, "text": text, "payload": payload},
    }
    if originating_message_id:
        body["originatingMessageId"] = originating_message_id
    return (
        client.request(
            "POST",
            _inbound_path(integration_id, "structured/response"),
            what="the Open Messaging quick reply answer",
            permission=MESSAGE_RECEIVE,
            json=body,
            idempotent=False,
        )
        or {}
    )


def send_inbound_typing(
    client: GenesysClient, integration_id: str, *, sender: dict[str, Any]
) -> None:
    """``POST …/inbound/open/event``: the user is typing."""
    client.request(
        "POST",
        _inbound_path(integration_id, "event"),
        what="the Open Messaging typing event",
        permission=MESSAGE_CREATE,
        json={
            "channel": {"from": sender, "time": _now()},
            # The SDK types inbound events as OpenEvent (eventType only); Genesys's own
            # examples and its answer (OpenMessageEvent) carry typing {"type": "On"}.
            "events": [{"eventType": "Typing", "typing": {"type": "On"}}],
        },
        idempotent=False,
    )


#: ``ConversationReason.code`` of a message the channel could not take.
RECEIPT_FAILURE_CODE = "GeneralError"


def send_receipt(
    client: GenesysClient,
    integration_id: str,
    *,
    recipient: dict[str, Any],
    message_id: str,
    delivered: bool,
    reason: str = "",
) -> None:
    """``POST …/inbound/open/receipt`` (``OpenInboundNormalizedReceipt``): whether the user's
    channel got the agent's message ``message_id`` (Genesys's id). ``channel`` is
    ``OpenInboundMessagingReceiptChannel`` {``to``, ``time``}: ``to`` is our user."""
    body: dict[str, Any] = {
        "id": message_id,
        "channel": {"to": recipient, "time": _now()},
        "status": "Delivered" if delivered else "Failed",
    }
    if not delivered:
        body["reasons"] = [{"code": RECEIPT_FAILURE_CODE, "message": reason[:500] or "Failed"}]
    client.request(
        "POST",
        _inbound_path(integration_id, "receipt"),
        what="the Open Messaging receipt",
        permission=MESSAGE_RECEIVE,
        json=body,
        idempotent=True,  # the same receipt twice sets the same state
    )


def get_integration(client: GenesysClient, integration_id: str) -> dict[str, Any]:
    """``GET /api/v2/conversations/messaging/integrations/open/{id}`` (``OpenIntegration``)."""
    return (
        client.request(
            "GET",
            f"/api/v2/conversations/messaging/integrations/open/{quote(integration_id)}",
            what="the Open Messaging integration lookup",
            permission=INTEGRATION_VIEW,
        )
        or {}
    )


def get_conversation(client: GenesysClient, conversation_id: str) -> dict[str, Any]:
    """``GET /api/v2/conversations/messages/{conversationId}`` (``MessageConversation``)."""
    return (
        client.request(
            "GET",
            f"/api/v2/conversations/messages/{quote(conversation_id)}",
            what="the message conversation lookup",
            permission=MESSAGE_VIEW,
        )
        or {}
    )


def get_conversation_message(
    client: GenesysClient, conversation_id: str, message_id: str
) -> dict[str, Any]:
    """``GET …/messages/{conversationId}/messages/{messageId}`` (``MessageData``)."""
    return (
        client.request(
            "GET",
            f"/api/v2/conversations/messages/{quote(conversation_id)}/messages/{quote(message_id)}",
            what="the conversation message lookup",
            permission=MESSAGE_VIEW,
        )
        or {}
    )


def message_text(data: dict[str, Any]) -> str | None:
    """A ``MessageData``'s text: ``normalizedMessage.text`` (older API versions: ``textBody``),
    or for a button response without one, the pressed button's ``buttonResponse.text``."""
    normalized = data.get("normalizedMessage")
    if isinstance(normalized, dict) and isinstance(normalized.get("text"), str):
        return normalized["text"]
    for item in (normalized.get("content") if isinstance(normalized, dict) else None) or []:
        button = item.get("buttonResponse") if isinstance(item, dict) else None
        if isinstance(button, dict) and isinstance(button.get("text"), str):
            return button["text"]
    text = data.get("textBody")
    return text if isinstance(text, str) else None


def find_sent_message(
    client: GenesysClient,
    conversation_id: str,
    text: str,
    *,
    since: datetime,
    already_sent: frozenset[str] = frozenset(),
    stop_at: str | None = None,
) -> str | None:
    """The Genesys id of a customer message with this ``text`` sent at or after ``since``.

    For an inbound send whose outcome is unknown (a timeout, a 5xx, a worker killed): no
    Genesys documentation promises deduplication by ``channel.messageId``, so ask before
    sending again. The customer participant of ``MessageConversation`` lists its messages
    (``MessageDetails``: ``messageId``, ``messageTime``); each one since ``since`` (widened
    by ``CLOCK_SKEW``) is read, newest first, until one matches or an older one is reached.
    Messages in ``already_sent`` (the ids of other outbox rows) are skipped, so the same text
    sent twice in a row is not taken for the one in doubt, and the search stops at
    ``stop_at`` (the previous row's message: anything older was sent before it).
    """
    cutoff = since - CLOCK_SKEW
    customer = customer_participant(get_conversation(client, conversation_id)) or {}
    undated: list[tuple[None, str]] = []
    dated: list[tuple[datetime, str]] = []
    for detail in customer.get("messages") or []:
        if isinstance(detail, dict) and detail.get("messageId"):
            at = parse_timestamp(detail.get("messageTime"))
            if at is None:
                undated.append((None, str(detail["messageId"])))
            else:
                dated.append((at, str(detail["messageId"])))
    # Newest first; a message without a time may be the newest, so it is read too.
    dated.sort(reverse=True)
    for at, message_id in [*undated, *dated]:
        if (at is not None and at < cutoff) or (stop_at and message_id == stop_at):
            return None
        if message_id in already_sent:
            continue
        try:
            data = get_conversation_message(client, conversation_id, message_id)
        except errors.GenesysNotFound:
            continue
        if str(data.get("direction") or "").lower() != "inbound":
            continue
        if message_text(data) == text:
            return str(data.get("id") or message_id)
    return None


def customer_participant(conversation: dict[str, Any]) -> dict[str, Any] | None:
    """The conversation's customer participant (``purpose`` ``customer``), if any."""
    for participant in conversation.get("participants") or []:
        if isinstance(participant, dict) and participant.get("purpose") == CUSTOMER:
            return participant
    return None


def disconnect_participant(
    client: GenesysClient, conversation_id: str, participant_id: str
) -> None:
    """``PATCH …/messages/{conversationId}/participants/{participantId}`` ``disconnected``."""
    client.request(
        "PATCH",
        f"/api/v2/conversations/messages/{quote(conversation_id)}/participants/"
        f"{quote(participant_id)}",
        what="the participant disconnect",
        permission=COMMUNICATION_DISCONNECT,
        json={"state": DISCONNECTED},
    )


def client_for(om_settings: OpenMessagingSettings) -> GenesysClient:
    if om_settings.node_authentication_id is None:
        raise errors.GenesysNotConfigured(
            "Node Authentication is not set",
            advice="Open Messaging needs an OAuth2 connection: choose one in the endpoint's "
            "Handover Settings.",
        )
    return GenesysClient(region=om_settings.region, connection=om_settings.node_authentication)
