"""The Genesys Open Messaging transport: handovers relayed as Open Messaging conversations.

User → agent goes through the relay's outbox (``send`` posts an inbound message); agent →
user arrives at the signed webhook (``genesys.open_messaging.webhooks``), recorded by a Celery
task through ``record_webhook_message``; the end of the conversation is seen by the relay
process on the Notifications API (``genesys.open_messaging.notifications``) or reported by the
end webhook.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Collection
from typing import Any

from django.conf import settings
from django.db import transaction

from endpoints.handovers.services import handover_end, handover_event_record, lock_handover
from endpoints.handovers.transports import (
    HandoverTransport,
    PermanentFailure,
    TemporaryFailure,
    TransportError,
)
from endpoints.models import EndReason, EventKind, Handover, HandoverStatus, OutboundMessage
from genesys.models import OpenMessagingConversation, OpenMessagingSettings
from genesys.open_messaging import client as open_messaging
from genesys.open_messaging.content import agent_content, inbound_content
from genesys.open_messaging.notifications import Participants
from genesys.platform import errors
from genesys.platform.error_mapping import transport_error

logger = logging.getLogger(__name__)

#: Participant states after which there is nothing left to disconnect.
OVER_STATES = frozenset({"disconnected", "terminated"})


def _settings(handover: Handover) -> OpenMessagingSettings:
    try:
        return handover.endpoint.genesys_om_settings
    except OpenMessagingSettings.DoesNotExist:
        raise PermanentFailure("The endpoint has no Genesys Open Messaging settings.") from None


def opaque_user_id(om_settings: OpenMessagingSettings, handover: Handover) -> str:
    """The user's id in Genesys for one handover, neither personal nor guessable (an HMAC
    of the endpoint, session and handover, keyed with the endpoint's webhook token).

    Per handover, not per session: webhooks find their handover by it, so a late or
    replayed call of an ended handover's conversation must not reach the session's next
    handover. Stored in ``OpenMessagingConversation.from_id`` when the handover starts (a
    handover keeps the id it was given, including those from before it was per handover).
    """
    key = om_settings.webhook_token.encode()
    text = f"{handover.endpoint.public_id}:{handover.session_id}:{handover.public_id}".encode()
    return "hp-" + hmac.new(key, text, hashlib.sha256).hexdigest()[:40]


def sender_of(om_settings: OpenMessagingSettings, conversation: OpenMessagingConversation) -> dict:
    """``channel.from`` for the handover: the name only with Send Profile Information on."""
    profile = conversation.handover.profile if om_settings.send_profile_information else None
    return open_messaging.from_recipient(conversation.from_id, profile)


#: Profile keys that go as ``channel.from`` (the name), not as custom attributes.
NAME_KEYS = frozenset({"first_name", "last_name"})


def custom_attributes(om_settings: OpenMessagingSettings, handover: Handover) -> dict[str, str]:
    """``channel.metadata.customAttributes`` of every inbound message: the profile's other
    keys (with Send Profile Information on), the custom fields, then the routing hints under
    their documented names (``language``, ``skills`` comma-joined, ``priority``), which win
    over a custom field of the same name.
    """
    attributes: dict[str, str] = {}
    if om_settings.send_profile_information:
        for key, value in (handover.profile or {}).items():
            if key not in NAME_KEYS and value not in (None, ""):
                attributes[key] = str(value)
    attributes.update({key: str(value) for key, value in (handover.custom_fields or {}).items()})
    routing = handover.routing or {}
    if routing.get("language"):
        attributes["language"] = str(routing["language"])
    if routing.get("skills"):
        attributes["skills"] = ",".join(str(skill) for skill in routing["skills"])
    if routing.get("priority") is not None:
        attributes["priority"] = str(routing["priority"])
    return attributes


def message_id_of(handover: Handover, message: OutboundMessage) -> str:
    """A stable ``channel.messageId`` per outbox row: a resend is the same message."""
    return f"{handover.public_id}:{message.pk}"


def _translate(error: errors.GenesysError, *, sent: bool) -> TransportError:
    """The relay's view of a Genesys error (calls authenticate with the OAuth client)."""
    return transport_error(error, sent=sent)


def _conversation(handover: Handover) -> OpenMessagingConversation:
    try:
        return handover.genesys_om
    except OpenMessagingConversation.DoesNotExist:
        raise TemporaryFailure("The Open Messaging conversation is not set up yet.") from None


class OpenMessagingTransport(HandoverTransport):
    """Genesys Cloud Open Messaging (one opaque Open Messaging user per handover)."""

    related = ("endpoint__genesys_om_settings__node_authentication", "genesys_om")

    @property
    def attachment_types(self) -> frozenset[str]:  # type: ignore[override]
        return frozenset(settings.GENESYS_OM_ATTACHMENT_TYPES)

    @property
    def attachment_max_bytes(self) -> int:  # type: ignore[override]
        return settings.GENESYS_OM_ATTACHMENT_MAX_BYTES

    def start(self, handover: Handover) -> None:
        # Genesys creates its conversation on the first inbound message (the transcript,
        # first in the outbox): nothing remote to do, only our side to record.
        om_settings = _settings(handover)
        if om_settings.node_authentication_id is None:
            raise PermanentFailure("Open Messaging needs Node Authentication.")
        OpenMessagingConversation.objects.get_or_create(
            handover=handover, defaults={"from_id": opaque_user_id(om_settings, handover)}
        )

    def send(self, handover: Handover, message: OutboundMessage) -> str:
        om_settings = _settings(handover)
        conversation = _conversation(handover)
        quick_reply = (message.data or {}).get("quick_reply")
        try:
            client = open_messaging.client_for(om_settings)
            if quick_reply and conversation.conversation_id:
                # An answer to an agent's quick reply: a Structured button response in the
                # user's conversation (before there is one, it can only go as text).
                answer = open_messaging.send_structured_response(
                    client,
                    str(om_settings.integration_id),
                    sender=sender_of(om_settings, conversation),
                    message_id=message_id_of(handover, message),
                    text=message.text,
                    payload=str(quick_reply.get("payload") or message.text),
                    originating_message_id=str(quick_reply.get("provider_message_id") or ""),
                    custom_attributes=custom_attributes(om_settings, handover),
                )
                return str(answer.get("id") or message_id_of(handover, message))
            answer = open_messaging.send_inbound_message(
                client,
                str(om_settings.integration_id),
                sender=sender_of(om_settings, conversation),
                message_id=message_id_of(handover, message),
                text=message.text,
                content=inbound_content(message.data.get("attachments") or []),
                custom_attributes=custom_attributes(om_settings, handover),
            )
        except errors.GenesysError as error:
            raise _translate(error, sent=True) from None
        conversation_id = str(answer.get("conversationId") or "")
        if conversation_id and conversation_id != conversation.conversation_id:
            if conversation.conversation_id:
                logger.warning(
                    "Handover %s: Genesys put the user in conversation %s (was %s)",
                    handover.public_id, conversation_id, conversation.conversation_id,
                )  # fmt: skip
            conversation.conversation_id = conversation_id
            conversation.participant_id = ""
            conversation.save(update_fields=["conversation_id", "participant_id"])
        return str(answer.get("id") or message_id_of(handover, message))

    def find_sent(self, handover: Handover, message: OutboundMessage) -> str | None:
        """After an attempt whose outcome is unknown: did the message reach Genesys?

        Nothing documents deduplication by ``channel.messageId`` (the SDK marks it optional),
        so the conversation is asked. Until the conversation id is known (the first inbound
        message creates the conversation and its answer carries the id) there is nothing to
        ask: the message is sent again, with the same ``messageId``. At worst the agent sees
        the first message (the transcript) twice, and only if Genesys does not deduplicate;
        never losing it matters more, and no public API finds an Open Messaging user's
        conversation without its id.
        """
        conversation = _conversation(handover)
        if message.attempt_started_at is None or not conversation.conversation_id:
            return None
        om_settings = _settings(handover)
        try:
            return open_messaging.find_sent_message(
                open_messaging.client_for(om_settings),
                conversation.conversation_id,
                message.text,
                since=message.attempt_started_at,
                already_sent=message.other_remote_ids(),
                stop_at=message.previous_remote_id(),
            )
        except errors.GenesysError as error:
            raise _translate(error, sent=False) from None

    wants_receipts = True

    def send_receipt(self, handover: Handover, row: OutboundMessage) -> None:
        om_settings = _settings(handover)
        conversation = _conversation(handover)
        data = row.data or {}
        try:
            open_messaging.send_receipt(
                open_messaging.client_for(om_settings),
                str(om_settings.integration_id),
                recipient={"id": conversation.from_id, "idType": "Opaque"},
                message_id=str(data.get("message_id") or ""),
                delivered=data.get("status") == "delivered",
                reason=str(data.get("reason") or ""),
            )
        except errors.GenesysError as error:
            raise _translate(error, sent=False) from None

    def send_typing(self, handover: Handover) -> None:
        om_settings = _settings(handover)
        conversation = _conversation(handover)
        if not conversation.conversation_id:
            return  # no conversation yet: a typing event would create one
        try:
            open_messaging.send_inbound_typing(
                open_messaging.client_for(om_settings),
                str(om_settings.integration_id),
                sender=sender_of(om_settings, conversation),
            )
        except errors.GenesysError as error:
            raise _translate(error, sent=False) from None

    def end(self, handover: Handover) -> None:
        conversation = OpenMessagingConversation.objects.filter(handover=handover).first()
        if conversation is None or not conversation.conversation_id:
            return  # Genesys never got a message: there is no conversation to leave
        om_settings = _settings(handover)
        try:
            client = open_messaging.client_for(om_settings)
            found = open_messaging.get_conversation(client, conversation.conversation_id)
            customer = open_messaging.customer_participant(found)
            if customer is None or str(customer.get("state", "")).lower() in OVER_STATES:
                return
            open_messaging.disconnect_participant(
                client, conversation.conversation_id, str(customer["id"])
            )
        except errors.GenesysNotFound:
            return  # gone already
        except errors.GenesysError as error:
            raise _translate(error, sent=False) from None


# Agent → user: the webhook's messages and the Notifications API's participant changes.


def open_handover_for(om_settings_id: int, from_id: str) -> Handover | None:
    """The open handover of the endpoint whose Open Messaging user is ``from_id``."""
    return (
        Handover.objects.filter(
            endpoint__genesys_om_settings__pk=om_settings_id,
            genesys_om__from_id=from_id,
        )
        .exclude(status=HandoverStatus.ENDED)
        .select_related("genesys_om")
        .first()
    )


def agent_joined(handover_id: int, *, name: str, external_id: str) -> None:
    """An agent is connected: ``agent_joined``, unless the channel already heard that an
    agent is there (the webhook's first agent message may come before the notification).
    """
    with transaction.atomic():
        handover = lock_handover(handover_id)
        last = (
            handover.events.filter(kind__in=[EventKind.AGENT_JOINED, EventKind.AGENT_LEFT])
            .order_by("-seq")
            .first()
        )
        if last is not None and last.kind == EventKind.AGENT_JOINED:
            return
        handover_event_record(
            handover_id=handover_id,
            kind=EventKind.AGENT_JOINED,
            data={"agent_name": name},
            external_id=external_id,
        )


#: The longest Genesys message id recorded: ``HandoverEvent.external_id`` (255) holds it
#: with the ``joined:webhook:`` prefix. Genesys's ids are UUIDs.
MESSAGE_ID_MAX_LENGTH = 200


def _text(value: Any) -> str:
    """``value`` if it is a string, else empty: a payload's shape is checked, not trusted."""
    return value if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def conversation_id_of(payload: dict[str, Any]) -> str:
    """The Genesys conversation id a webhook call names (top level or in ``channel``)."""
    channel = _object(payload.get("channel"))
    return _text(payload.get("conversationId")) or _text(channel.get("conversationId"))


def _other_conversation(handover: Handover, conversation_id: str) -> bool:
    """Whether a call naming ``conversation_id`` belongs to another Genesys conversation
    than the handover's: a late or replayed call of an earlier handover of the session
    (which shares the user id if both began before it was per handover)."""
    if not conversation_id:
        return False
    known = handover.genesys_om.conversation_id
    if known:
        return conversation_id != known
    return (
        OpenMessagingConversation.objects.filter(
            conversation_id=conversation_id, handover__endpoint_id=handover.endpoint_id
        )
        .exclude(handover=handover)
        .exists()
    )


def is_automated(payload: dict[str, Any]) -> bool:
    """Whether an outbound message is Genesys's automation speaking: ``originatingEntity``
    present and not ``Human`` (``Bot``: an Architect bot or in-queue flow). Only a ``Human``
    message means an agent answered; one without ``originatingEntity`` is taken for an
    agent's, as before the field was read (whatever its ``channel.from``)."""
    entity = _text(payload.get("originatingEntity"))
    return bool(entity) and entity.lower() != "human"


#: The outbound message types that carry something for the user.
MESSAGE_TYPES = frozenset({"Text", "Structured"})


def record_webhook_message(om_settings_id: int, payload: dict[str, Any]) -> str:
    """Record what a signed Open Messaging webhook call said; a word on what was done.

    Whatever the payload's shape, a field of the wrong type is treated as absent: a call
    that does not fit answers ``"ignored …"`` (or ``"no recipient"``) rather than raising.
    """
    channel = _object(payload.get("channel"))
    to_id = _text(_object(channel.get("to")).get("id"))
    if not to_id:
        return "no recipient"
    handover = open_handover_for(om_settings_id, to_id)
    if handover is None:
        return "no open handover"
    if _other_conversation(handover, conversation_id_of(payload)):
        return "other conversation"
    sender = _object(channel.get("from"))
    name = _text(sender.get("nickname")) or _text(sender.get("firstName")) or handover.agent_name
    name = name[:255]
    kind = _text(payload.get("type"))[:40]
    # Text (with attachments, maybe no text) and Structured (quick replies, cards) messages.
    if kind in MESSAGE_TYPES and payload.get("direction", "Outbound") == "Outbound":
        message_id = _text(payload.get("id")) or _text(channel.get("messageId"))
        if not message_id or len(message_id) > MESSAGE_ID_MAX_LENGTH:
            return "no message id"
        text = payload.get("text")
        if text is not None and not isinstance(text, str):
            return "ignored Text: the text is not a string"
        content = agent_content(payload)
        if is_automated(payload):
            event = handover_event_record(
                handover_id=handover.pk,
                kind=EventKind.SYSTEM_MESSAGE,
                data={"text": text or "", **content},
                external_id=message_id,
            )
            return "system message" if event else "duplicate"
        if handover.status != HandoverStatus.ACTIVE:
            agent_joined(handover.pk, name=name, external_id=f"joined:webhook:{message_id}")
        event = handover_event_record(
            handover_id=handover.pk,
            kind=EventKind.AGENT_MESSAGE,
            data={"text": text or "", "agent_name": name, **content},
            external_id=message_id,
            activity=True,
        )
        return "agent message" if event else "duplicate"
    if kind == "Event":
        events = payload.get("events")
        for event in events if isinstance(events, list) else []:
            if isinstance(event, dict) and event.get("eventType") == "Typing":
                handover_event_record(
                    handover_id=handover.pk,
                    kind=EventKind.AGENT_TYPING,
                    data={"agent_name": name},
                )
                return "agent typing"
    return f"ignored {kind}" if kind else "ignored: no type"


def _handover_of_conversation(conversation_id: str) -> Handover | None:
    return (
        Handover.objects.filter(genesys_om__conversation_id=conversation_id)
        .exclude(status=HandoverStatus.ENDED)
        .first()
    )


def record_participants(conversation_id: str, participants: Participants) -> str:
    """What a participant change of ``conversation_id`` means for its open handover:
    ``"ended"`` when the customer participant is disconnected (the agent ended it)."""
    handover = _handover_of_conversation(conversation_id)
    if handover is None:
        return "ended"
    if participants.customer_over:
        handover_end(handover_id=handover.pk, reason=EndReason.AGENT_LEFT, disconnect=False)
        return "ended"
    for participant_id, (name, connected) in participants.agents.items():
        if connected:
            agent_joined(handover.pk, name=name, external_id=f"joined:{participant_id}")
    if not participants.agent_connected:
        for participant_id, (name, _) in participants.agents.items():
            agent_left(handover.pk, name=name, external_id=f"left:{participant_id}")
    return ""


def agent_left(handover_id: int, *, name: str, external_id: str) -> None:
    """The connected agent left (the conversation may go on: a transfer)."""
    with transaction.atomic():
        handover = lock_handover(handover_id)
        last = (
            handover.events.filter(kind__in=[EventKind.AGENT_JOINED, EventKind.AGENT_LEFT])
            .order_by("-seq")
            .first()
        )
        if last is None or last.kind != EventKind.AGENT_JOINED:
            return
        handover_event_record(
            handover_id=handover_id,
            kind=EventKind.AGENT_LEFT,
            data={"agent_name": name},
            external_id=external_id,
        )


def end_conversation(settings_id: int, conversation_id: str) -> bool:
    """The end webhook: end the open handover of ``conversation_id`` on the endpoint of
    ``settings_id`` as ``agent_left``; ``False`` if there is none (ended already, unknown)."""
    conversation = (
        OpenMessagingConversation.objects.filter(
            conversation_id=conversation_id,
            handover__endpoint__genesys_om_settings__pk=settings_id,
        )
        .exclude(handover__status=HandoverStatus.ENDED)
        .first()
    )
    if conversation is None:
        return False
    return handover_end(
        handover_id=conversation.handover_id, reason=EndReason.AGENT_LEFT, disconnect=False
    )


def end_abandoned(conversation_id: str) -> bool:
    """No agent and no queue past the grace period: the agent ended the conversation."""
    handover = _handover_of_conversation(conversation_id)
    if handover is None:
        return False
    return handover_end(handover_id=handover.pk, reason=EndReason.AGENT_LEFT, disconnect=False)


def watched_conversations(
    handover_ids: Collection[int] | None = None,
    on_error: Callable[[int, Exception], None] | None = None,
) -> dict[tuple[int, str], tuple[Any, Any, set[str]]]:
    """For the relay: the conversations of open Open Messaging handovers (of
    ``handover_ids``, the ones this relay replica owns, when given), by OAuth connection
    and region (one notification channel each).

    A row that cannot be read (its settings gone, a host no region has) is skipped and
    handed to ``on_error`` with its handover id (logged when there is none): one bad row
    must not stop the relay from watching the others.
    """
    wanted: dict[tuple[int, str], tuple[Any, Any, set[str]]] = {}
    # Ids only, then each settings row once: a poll of thousands of handovers stays cheap.
    rows = (
        OpenMessagingConversation.objects.filter(
            handover__status__in=[HandoverStatus.QUEUED, HandoverStatus.ACTIVE]
        )
        .exclude(conversation_id="")
        .values_list("handover_id", "conversation_id", "handover__endpoint__genesys_om_settings")
    )
    if handover_ids is not None:
        rows = rows.filter(handover__in=handover_ids)
    rows = list(rows)
    by_pk = OpenMessagingSettings.objects.select_related("node_authentication").in_bulk(
        {settings_pk for _, _, settings_pk in rows if settings_pk is not None}
    )
    channels: dict[int, tuple[tuple[int, str], Any, Any] | Exception] = {}
    for settings_pk, om_settings in by_pk.items():
        try:
            connection = om_settings.node_authentication
            channels[settings_pk] = (
                (connection.pk, om_settings.host),
                om_settings.region,
                connection,
            )
        except Exception as error:
            channels[settings_pk] = error
    for handover_id, conversation_id, settings_pk in rows:
        channel = channels.get(settings_pk) if settings_pk is not None else None
        if channel is None:
            channel = OpenMessagingSettings.DoesNotExist(
                "The endpoint has no Open Messaging settings"
            )
        if isinstance(channel, Exception):
            if on_error is None:
                logger.error(
                    "Open Messaging handover %s skipped by the relay (%s)",
                    handover_id, type(channel).__name__,
                )  # fmt: skip
            else:
                on_error(handover_id, channel)
            continue
        key, region, connection = channel
        entry = wanted.setdefault(key, (region, connection, set()))
        entry[2].add(conversation_id)
    return wanted
