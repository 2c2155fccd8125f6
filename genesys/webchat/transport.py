"""The Genesys web chat v2 transport: handovers relayed through the guest API.

User → agent goes through the relay's outbox (``send``); agent → user arrives on the
conversation's event stream, held by the ``relay`` process, which records each event through
``record_stream_event``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from endpoints.handovers.services import handover_end, handover_event_record
from endpoints.handovers.transports import (
    HandoverTransport,
    PermanentFailure,
    TemporaryFailure,
    TransportError,
)
from endpoints.models import EndReason, EventKind, Handover, OutboundMessage
from genesys.models import GenesysSettings, WebChatConversation
from genesys.platform import errors
from genesys.platform.error_mapping import transport_error
from genesys.platform.regions import Region
from genesys.webchat import client as webchat
from genesys.webchat.event_stream import (
    AgentJoined,
    AgentLeft,
    AgentMessage,
    AgentTyping,
    ConversationEnded,
)

logger = logging.getLogger(__name__)

ANONYMOUS_NAME = "Guest"
PROFILE_MEMBER_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "phone_number": "phoneNumber",
}


def member_info(handover: Handover, *, send_profile: bool) -> dict[str, Any]:
    """``GuestMemberInfo`` for the conversation: the profile only when the endpoint allows.

    Off: an anonymous display name and nothing else leaves the server. On: the first and
    last name as the display name, the known profile fields as themselves, and every other
    profile field and custom field as a custom field (strings, as Genesys expects).
    """
    if not send_profile:
        return {"displayName": ANONYMOUS_NAME}
    profile = {key: str(value) for key, value in (handover.profile or {}).items() if value}
    name = " ".join(part for part in (profile.get("first_name"), profile.get("last_name")) if part)
    info: dict[str, Any] = {"displayName": name or ANONYMOUS_NAME}
    custom: dict[str, str] = {}
    for key, value in profile.items():
        if key in PROFILE_MEMBER_FIELDS:
            info[PROFILE_MEMBER_FIELDS[key]] = value
        else:
            custom[key] = value
    custom.update({key: str(value) for key, value in (handover.custom_fields or {}).items()})
    if custom:
        info["customFields"] = custom
    return info


def _settings(handover: Handover) -> GenesysSettings:
    try:
        return handover.endpoint.genesys_settings
    except GenesysSettings.DoesNotExist:
        raise PermanentFailure("The endpoint has no Genesys Cloud settings.") from None


def _session(handover: Handover) -> tuple[Region, webchat.WebChatSession]:
    genesys_settings = _settings(handover)
    try:
        conversation = handover.genesys_webchat
    except WebChatConversation.DoesNotExist:
        raise TemporaryFailure("The Genesys conversation has not been created yet.") from None
    return genesys_settings.region, session_of(conversation)


def session_of(conversation: WebChatConversation) -> webchat.WebChatSession:
    return webchat.WebChatSession(
        conversation_id=conversation.conversation_id,
        member_id=conversation.member_id,
        jwt=conversation.jwt,
        event_stream_uri=conversation.event_stream_uri,
    )


def _translate(error: errors.GenesysError, *, sent: bool) -> TransportError:
    """The relay's view of a Genesys error: every guest call but the create carries the
    conversation's JWT, which Genesys stops accepting once the conversation is over."""
    return transport_error(error, sent=sent, unauthorized_ends_conversation=True)


class WebChatTransport(HandoverTransport):
    """Genesys web chat v2 guest API (one guest member per handover)."""

    related = ("endpoint__genesys_settings", "genesys_webchat")

    def start(self, handover: Handover) -> None:
        if WebChatConversation.objects.filter(handover=handover).exists():
            return
        genesys_settings = _settings(handover)
        try:
            session = webchat.create_conversation(
                genesys_settings.region,
                organization_id=str(genesys_settings.organization_id),
                deployment_id=str(genesys_settings.deployment_id),
                queue_name=genesys_settings.queue_name,
                member_info=member_info(
                    handover, send_profile=genesys_settings.send_profile_information
                ),
                routing=handover.routing,
            )
        except errors.GenesysError as error:
            # A create whose outcome is unknown is tried again: at worst the agent sees an
            # abandoned waiting chat, which Genesys ends when its guest never connects.
            raise _translate(error, sent=False) from None
        with transaction.atomic():
            WebChatConversation.objects.create(
                handover=handover,
                conversation_id=session.conversation_id,
                member_id=session.member_id,
                jwt=session.jwt,
                event_stream_uri=session.event_stream_uri,
            )

    def send(self, handover: Handover, message: OutboundMessage) -> str:
        region, session = _session(handover)
        try:
            sent = webchat.send_message(region, session, message.text)
        except errors.GenesysError as error:
            raise _translate(error, sent=True) from None
        return str(sent.get("id", ""))

    def find_sent(self, handover: Handover, message: OutboundMessage) -> str | None:
        region, session = _session(handover)
        if message.attempt_started_at is None:
            return None
        try:
            return webchat.find_sent_message(
                region,
                session,
                message.text,
                since=message.attempt_started_at,
                already_sent=message.other_remote_ids(),
                stop_at=message.previous_remote_id(),
            )
        except errors.GenesysError as error:
            raise _translate(error, sent=False) from None

    def send_typing(self, handover: Handover) -> None:
        region, session = _session(handover)
        try:
            webchat.send_typing(region, session)
        except errors.GenesysError as error:
            raise _translate(error, sent=False) from None

    def end(self, handover: Handover) -> None:
        try:
            region, session = _session(handover)
        except TemporaryFailure:
            return  # never created: nothing to leave
        try:
            webchat.disconnect(region, session)
        except errors.GenesysError as error:
            raise _translate(error, sent=False) from None


def record_stream_event(handover_id: int, event: object) -> None:
    """Record what the event stream of a handover's conversation said (agent → user)."""
    if isinstance(event, AgentMessage):
        handover_event_record(
            handover_id=handover_id,
            kind=EventKind.AGENT_MESSAGE,
            data={"text": event.text, "agent_name": event.name},
            external_id=event.message_id,
            activity=True,
        )
    elif isinstance(event, AgentJoined):
        handover_event_record(
            handover_id=handover_id,
            kind=EventKind.AGENT_JOINED,
            data={"agent_name": event.name},
            external_id=f"joined:{event.member_id}",
        )
    elif isinstance(event, AgentTyping):
        handover_event_record(
            handover_id=handover_id, kind=EventKind.AGENT_TYPING, data={"agent_name": event.name}
        )
    elif isinstance(event, AgentLeft):
        handover_event_record(
            handover_id=handover_id,
            kind=EventKind.AGENT_LEFT,
            data={"agent_name": event.name},
            external_id=f"left:{event.member_id}",
        )
    elif isinstance(event, ConversationEnded):
        handover_end(handover_id=handover_id, reason=EndReason.AGENT_LEFT, disconnect=False)
