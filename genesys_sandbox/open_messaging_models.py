"""Open Messaging's part of the world: integrations, conversations, webhook attempts, channels.

JSON shapes follow the SDK models named in each docstring; the ``summary()`` methods are the
control API's own view (snake_case, a sandbox notion).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from genesys_sandbox.state import ENDED, WAITING, new_id, now_iso

DEMO_OPEN_INTEGRATION_ID = "6a0f4e2c-3b1d-4f5a-9c8e-7d6b5a4f3e2d"
DEMO_OPEN_INTEGRATION_NAME = "Sandbox Open Messaging"
MIN_WEBHOOK_SECRET_CHARS = 16  # Genesys requires "more than 15 characters".
DEFAULT_WEBHOOK_RETRIES = 4  # five attempts in all
DEFAULT_WEBHOOK_BACKOFF_SECONDS = 0.2
#: Between a transfer's disconnect and the next queue's ACD participant (Genesys publishes two
#: participant changes; the gap is not documented).
DEFAULT_TRANSFER_GAP_SECONDS = 1.0
NOTIFICATION_CHANNEL_TTL_SECONDS = 24 * 3600
DEFAULT_CHANNEL_LIMIT = 20
MAX_DELIVERY_LOG = 1000

# Participant purposes and states, as in MessageMediaParticipant (lower case).
PURPOSE_CUSTOMER = "customer"
PURPOSE_AGENT = "agent"
PURPOSE_ACD = "acd"
P_CONNECTED = "connected"
P_DISCONNECTED = "disconnected"
P_ALERTING = "alerting"
ID_TYPES = ("Email", "Phone", "Opaque")


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


@dataclass
class OpenIntegration:
    id: str
    name: str
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    date_created: str = field(default_factory=now_iso)
    date_modified: str = field(default_factory=now_iso)

    def as_api(self) -> dict[str, Any]:
        """The SDK's ``OpenIntegration``; the signature secret never leaves the sandbox."""
        return _drop_none(
            {
                "id": self.id,
                "name": self.name,
                "outboundNotificationWebhookUrl": self.webhook_url,
                "webhookHeaders": {},
                "status": "Active",
                "createStatus": "Completed",
                "dateCreated": self.date_created,
                "dateModified": self.date_modified,
                "selfUri": f"/api/v2/conversations/messaging/integrations/open/{self.id}",
            }
        )

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "webhook_url": self.webhook_url,
            "has_webhook_secret": bool(self.webhook_secret),
        }


@dataclass
class OmParticipant:
    """One participant of a messaging conversation, with its one message communication."""

    id: str
    purpose: str
    name: str | None
    state: str = P_CONNECTED
    communication_id: str = field(default_factory=new_id)
    address: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    disconnect_type: str | None = None
    start_time: str = field(default_factory=now_iso)
    connected_time: str | None = field(default_factory=now_iso)
    end_time: str | None = None

    def disconnect(self, disconnect_type: str) -> None:
        self.state = P_DISCONNECTED
        self.disconnect_type = disconnect_type
        self.end_time = now_iso()

    def as_api(self, conversation: OmConversation) -> dict[str, Any]:
        """``MessageMediaParticipant`` as ``GET /api/v2/conversations/messages/{id}`` lists it."""
        mine = [m for m in conversation.messages if m.participant_id == self.id]
        return _drop_none(
            {
                "id": self.id,
                "name": self.name,
                "address": self.address,
                "startTime": self.start_time,
                "connectedTime": self.connected_time,
                "endTime": self.end_time,
                "purpose": self.purpose,
                "state": self.state,
                "direction": "inbound",
                "disconnectType": self.disconnect_type,
                "held": False,
                "wrapupRequired": self.purpose == PURPOSE_AGENT,
                "queue": {"id": self.queue_id, "selfUri": f"/api/v2/routing/queues/{self.queue_id}"}
                if self.queue_id
                else None,
                "user": {"id": self.user_id, "selfUri": f"/api/v2/users/{self.user_id}"}
                if self.user_id
                else None,
                "type": "open",
                "messages": [m.details() for m in mine],
            }
        )

    def as_event(self) -> dict[str, Any]:
        """``ConversationEventTopicParticipant``: the state lives in ``messages[0].state``."""
        return _drop_none(
            {
                "id": self.id,
                "connectedTime": self.connected_time,
                "endTime": self.end_time,
                "userId": self.user_id,
                "name": self.name,
                "queueId": self.queue_id,
                "purpose": self.purpose,
                "address": self.address,
                "wrapupRequired": self.purpose == PURPOSE_AGENT,
                "attributes": {},
                "messages": [
                    _drop_none(
                        {
                            "id": self.communication_id,
                            "state": self.state,
                            "direction": "inbound",
                            "held": False,
                            "disconnectType": self.disconnect_type,
                            "connectedTime": self.connected_time,
                            "disconnectedTime": self.end_time,
                            "type": "open",
                        }
                    )
                ],
            }
        )

    def summary(self) -> dict[str, Any]:
        return _drop_none(
            {
                "id": self.id,
                "purpose": self.purpose,
                "name": self.name,
                "state": self.state,
                "queue_id": self.queue_id,
                "user_id": self.user_id,
                "connected_time": self.connected_time,
                "end_time": self.end_time,
                "disconnect_type": self.disconnect_type,
            }
        )


@dataclass
class OmMessage:
    id: str  # Genesys's message id
    participant_id: str
    direction: str  # "Inbound" | "Outbound"
    text: str
    provider_message_id: str | None = None  # channel.messageId (ours for inbound)
    time: str = field(default_factory=now_iso)
    content: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    custom_attributes: dict[str, str] | None = None
    originating_entity: str | None = None  # outbound: "Human" (an agent) or "Bot"
    #: ``Text``, or ``Structured``: an agent's quick replies or cards, a user's button response.
    type: str = "Text"
    #: A button response: the id of the agent's structured message it answers.
    originating_message_id: str | None = None
    #: Receipts the integration sent for an outbound message: {status, reasons, at}.
    receipts: list[dict[str, Any]] = field(default_factory=list)

    def data(self, conversation: OmConversation) -> dict[str, Any]:
        """``MessageData`` (``GET …/messages/{conversationId}/messages/{messageId}``): the
        current SDK carries the text in ``normalizedMessage`` (older ones in ``textBody``)."""
        inbound = self.direction == "Inbound"
        customer, integration = conversation.user_id, conversation.integration_id
        normalized = _drop_none(
            {
                "id": self.id,
                "channel": _drop_none(
                    {
                        "id": integration,
                        "platform": "Open",
                        "type": "Private",
                        "messageId": self.provider_message_id,
                        "to": {"id": integration if inbound else customer},
                        "from": {"id": customer if inbound else integration},
                        "time": self.time,
                    }
                ),
                "type": self.type,
                # A button response has no text of its own: its text is the button's.
                "text": self.text if self.type == "Text" else (self.text or None),
                "content": self.content,
                "direction": self.direction,
                "originatingEntity": None if inbound else "Human",
            }
        )
        return _drop_none(
            {
                "id": self.id,
                "providerMessageId": self.provider_message_id,
                "timestamp": self.time,
                "fromAddress": customer if inbound else integration,
                "toAddress": integration if inbound else customer,
                "direction": self.direction.lower(),
                "messengerType": "open",
                "status": "received" if inbound else "sent",
                "normalizedMessage": normalized,
                "conversationId": conversation.id,
                "selfUri": f"/api/v2/conversations/messages/{conversation.id}/messages/{self.id}",
            }
        )

    def details(self) -> dict[str, Any]:
        """``MessageDetails``."""
        return {
            "messageId": self.id,
            "messageStatus": "received" if self.direction == "Inbound" else "delivered",
            "messageSegmentCount": 1,
            "messageTime": self.time,
        }

    def summary(self) -> dict[str, Any]:
        return _drop_none(
            {
                "id": self.id,
                "participant_id": self.participant_id,
                "direction": self.direction,
                "type": self.type,
                "text": self.text,
                "message_id": self.provider_message_id,
                "time": self.time,
                "content": self.content,
                "metadata": self.metadata,
                "custom_attributes": self.custom_attributes,
                "originating_entity": self.originating_entity,
                "originating_message_id": self.originating_message_id,
                "receipts": self.receipts or None,
            }
        )


@dataclass
class OmConversation:
    id: str
    integration_id: str
    customer_from: dict[str, Any]  # channel.from as the first inbound message gave it
    queue_id: str
    queue_name: str
    participants: list[OmParticipant] = field(default_factory=list)
    messages: list[OmMessage] = field(default_factory=list)
    typing: list[dict[str, Any]] = field(default_factory=list)
    state: str = WAITING
    created_at: str = field(default_factory=now_iso)
    #: The customer's participant data from ``channel.metadata.customAttributes``.
    custom_attributes: dict[str, str] = field(default_factory=dict)

    @property
    def customer(self) -> OmParticipant:
        return next(p for p in self.participants if p.purpose == PURPOSE_CUSTOMER)

    @property
    def user_id(self) -> str:
        return self.customer_from["id"]

    @property
    def open(self) -> bool:
        return self.state != ENDED

    def participant(self, participant_id: str) -> OmParticipant | None:
        return next((p for p in self.participants if p.id == participant_id), None)

    def connected(self, purpose: str) -> OmParticipant | None:
        return next(
            (p for p in self.participants if p.purpose == purpose and p.state == P_CONNECTED),
            None,
        )

    def message(self, message_id: str) -> OmMessage | None:
        return next((m for m in self.messages if m.id == message_id), None)

    def message_by_provider_id(self, provider_message_id: str) -> OmMessage | None:
        return next(
            (m for m in self.messages if m.provider_message_id == provider_message_id), None
        )

    def as_api(self) -> dict[str, Any]:
        """The SDK's ``MessageConversation``."""
        return {
            "id": self.id,
            "participants": [p.as_api(self) for p in self.participants],
            "otherMediaUris": [],
            "selfUri": f"/api/v2/conversations/messages/{self.id}",
        }

    def as_event(self) -> dict[str, Any]:
        """``ConversationEventTopicConversation``, the body of ``v2.conversations.{id}``."""
        return {
            "id": self.id,
            "participants": [p.as_event() for p in self.participants],
        }

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integration_id": self.integration_id,
            "state": self.state,
            "queue": {"id": self.queue_id, "name": self.queue_name},
            "created_at": self.created_at,
            "customer": self.customer_from,
            "custom_attributes": self.custom_attributes,
            "participants": [p.summary() for p in self.participants],
            "messages": [m.summary() for m in self.messages],
            "typing": self.typing,
        }


@dataclass
class DeliveryAttempt:
    conversation_id: str
    message_id: str
    kind: str  # "Text" | "Event"
    attempt: int
    url: str | None
    status: int | None = None
    error: str | None = None
    at: str = field(default_factory=now_iso)

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "type": self.kind,
            "attempt": self.attempt,
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "at": self.at,
        }


@dataclass
class NotificationChannel:
    """The SDK's ``Channel``; ``topics`` are ``ChannelTopic`` ids."""

    id: str
    #: The OAuth client that created it: Genesys limits channels per client.
    client_id: str = ""
    expires_at: float = field(
        default_factory=lambda: time.time() + NOTIFICATION_CHANNEL_TTL_SECONDS
    )
    topics: list[str] = field(default_factory=list)
    #: ``topics`` as a set, for publishing to thousands of topics quickly.
    topic_set: set[str] = field(default_factory=set)
    last_used: float = field(default_factory=time.time)

    def set_topics(self, topics: list[str]) -> None:
        self.topics = list(topics)
        self.topic_set = set(topics)
        self.last_used = time.time()

    @property
    def expires(self) -> str:
        moment = datetime.fromtimestamp(self.expires_at, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: The only trigger target type (SDK ``TriggerTarget.type``) and data formats.
TRIGGER_TARGET_TYPE = "Workflow"
TRIGGER_DATA_FORMATS = ("Json", "TopLevelPrimitives")


@dataclass
class Trigger:
    """The SDK's ``Trigger`` (Process Automation). ``fire_url`` and ``fire_headers`` are the
    sandbox's stand-in for the target workflow and its data action: on a matching event it
    POSTs ``{"conversationId"}`` there with those headers."""

    id: str
    name: str
    topic_name: str
    workflow_id: str
    enabled: bool = True
    data_format: str = "TopLevelPrimitives"
    match_criteria: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    fire_url: str | None = None
    fire_headers: dict[str, str] = field(default_factory=dict)
    version: int = 1

    def as_api(self) -> dict[str, Any]:
        return _drop_none(
            {
                "id": self.id,
                "name": self.name,
                "topicName": self.topic_name,
                "target": {
                    "type": TRIGGER_TARGET_TYPE,
                    "id": self.workflow_id,
                    "workflowTargetSettings": {"dataFormat": self.data_format},
                },
                "version": self.version,
                "enabled": self.enabled,
                "matchCriteria": self.match_criteria or None,
                "description": self.description or None,
                "selfUri": f"/api/v2/processautomation/triggers/{self.id}",
            }
        )


def _demo_integrations() -> dict[str, OpenIntegration]:
    return {
        DEMO_OPEN_INTEGRATION_ID: OpenIntegration(
            DEMO_OPEN_INTEGRATION_ID, DEMO_OPEN_INTEGRATION_NAME
        )
    }


@dataclass
class OpenMessagingWorld:
    """Open Messaging's state, held under its own app key; ``reset()`` brings back the demo."""

    integrations: dict[str, OpenIntegration] = field(default_factory=_demo_integrations)
    conversations: dict[str, OmConversation] = field(default_factory=dict)
    deliveries: list[DeliveryAttempt] = field(default_factory=list)
    channels: dict[str, NotificationChannel] = field(default_factory=dict)
    webhook_retries: int = DEFAULT_WEBHOOK_RETRIES
    webhook_backoff_seconds: float = DEFAULT_WEBHOOK_BACKOFF_SECONDS
    #: Store a repeated ``channel.messageId`` once (the sandbox's choice; Genesys documents
    #: no such deduplication, so the app must not rely on it: tests turn it off).
    dedupe: bool = True
    transfer_gap_seconds: float = DEFAULT_TRANSFER_GAP_SECONDS
    #: conversation id → the transfer waiting for its gap to pass before the queue connects.
    pending_transfers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    #: Notifications API channels one OAuth client may hold (Genesys: 20; a new one past it
    #: removes the least recently used, unconnected ones first).
    channel_limit: int = DEFAULT_CHANNEL_LIMIT
    channels_evicted: int = 0
    triggers: dict[str, Trigger] = field(default_factory=dict)
    #: What fired triggers sent: ``{"trigger_id", "conversation_id", "status"}``.
    trigger_firings: list[dict[str, Any]] = field(default_factory=list)

    def reset(self) -> None:
        for task in self.pending_transfers.values():
            task.cancel()
        self.pending_transfers = {}
        self.dedupe = True
        self.transfer_gap_seconds = DEFAULT_TRANSFER_GAP_SECONDS
        self.integrations = _demo_integrations()
        self.conversations = {}
        self.deliveries = []
        self.channels = {}
        self.channel_limit = DEFAULT_CHANNEL_LIMIT
        self.channels_evicted = 0
        self.triggers = {}
        self.trigger_firings = []
        self.webhook_retries = DEFAULT_WEBHOOK_RETRIES
        self.webhook_backoff_seconds = DEFAULT_WEBHOOK_BACKOFF_SECONDS

    def open_conversation(self, integration_id: str, user_id: str) -> OmConversation | None:
        return next(
            (
                c
                for c in self.conversations.values()
                if c.integration_id == integration_id and c.user_id == user_id and c.open
            ),
            None,
        )

    def find_message(self, integration_id: str, user_id: str, message_id: str) -> OmMessage | None:
        """A message of the user's conversations on the integration, by Genesys's id."""
        for conversation in self.conversations.values():
            if conversation.integration_id == integration_id and conversation.user_id == user_id:
                message = conversation.message(message_id)
                if message is not None:
                    return message
        return None

    def find_inbound(
        self, integration_id: str, user_id: str, provider_message_id: str
    ) -> tuple[OmConversation, OmMessage] | None:
        """An inbound message already stored under this messageId from this user."""
        for conversation in self.conversations.values():
            if conversation.integration_id != integration_id or conversation.user_id != user_id:
                continue
            message = conversation.message_by_provider_id(provider_message_id)
            if message is not None and message.direction == "Inbound":
                return conversation, message
        return None

    def record_delivery(self, attempt: DeliveryAttempt) -> None:
        self.deliveries.append(attempt)
        del self.deliveries[:-MAX_DELIVERY_LOG]
