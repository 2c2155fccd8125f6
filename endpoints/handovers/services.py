"""Handover business logic: starting, messages, events, ending. Views, tasks and the admin
call these; they keep every rule about handovers in one place.

Every change is made under a row lock on the handover, so events are numbered in commit
order (a client polling with the last cursor sees each exactly once) and a handover is
ended once, whoever races to end it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from endpoints.handovers.enqueue import (
    CALLBACKS_DELIVER,
    TYPING,
    enqueue_after_commit,
    outbox_enqueue,
)
from endpoints.models import (
    Endpoint,
    EndReason,
    EventKind,
    Handover,
    HandoverEvent,
    HandoverStatus,
    OutboundMessage,
    OutboxStatus,
)
from endpoints.models.handover import DeliveryStatus

logger = logging.getLogger(__name__)

#: The most text one outbox message carries; a longer transcript is split.
MAX_MESSAGE_LENGTH = 4000


class HandoverRefused(Exception):
    """The endpoint cannot hand over now; the message says why (an API 409)."""


class HandoverClosed(Exception):
    """The handover has ended; nothing more can be sent to it (an API 409)."""


#: The handover's column holding when an event of this kind first happened.
FIRSTS = {EventKind.AGENT_JOINED: "first_agent_at", EventKind.AGENT_MESSAGE: "first_reply_at"}

#: What ``handover_message_add`` reads of the locked handover.
#: What ``handover_end`` changes.
END_FIELDS = ("status", "end_reason", "end_detail", "ended_at", "ended_by", "expires_at", "warn_at")
MESSAGE_FIELDS = ("status", "end_reason", "session_duration_minutes", "sender_queued_until")

#: The text of the outbox rows that are provider steps rather than messages.
START_TEXT = "Create the provider's conversation."
DISCONNECT_TEXT = "Leave the provider's conversation."


def lock_handover(handover_id: int) -> Handover:
    """The handover, its row locked until the transaction ends (with its endpoint, which is
    read, not locked: every handover of an endpoint would otherwise wait for each other)."""
    return (
        Handover.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .get(pk=handover_id)
    )


def reset_idle_clock(handover: Handover, now: datetime) -> None:
    """A user or agent message: the idle clock starts again."""
    handover.last_activity_at = now
    duration = timedelta(minutes=handover.session_duration_minutes)
    handover.expires_at = now + duration
    lead = min(timedelta(seconds=settings.HANDOVER_EXPIRY_WARNING_SECONDS), duration / 2)
    handover.warn_at = handover.expires_at - lead


def transcript_messages(transcript: list[dict[str, Any]]) -> list[str]:
    """The bot conversation as text for the agent, split to fit in messages."""
    if not transcript:
        return []
    lines = ["Conversation with the bot before the handover:"]
    for entry in transcript:
        speaker = "User" if entry.get("from") == "user" else "Bot"
        at = entry.get("at")
        stamp = f" ({at.strftime('%H:%M')})" if isinstance(at, datetime) else ""
        lines.append(f"{speaker}{stamp}: {entry.get('text', '')}")
    chunks: list[str] = []
    current = ""
    for line in lines:
        while len(line) > MAX_MESSAGE_LENGTH:
            chunks.append(line[:MAX_MESSAGE_LENGTH])
            line = line[MAX_MESSAGE_LENGTH:]
        if current and len(current) + 1 + len(line) > MAX_MESSAGE_LENGTH:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def handover_start(
    *,
    endpoint: Endpoint,
    user_id: str,
    session_id: str,
    profile: dict[str, Any] | None = None,
    custom_fields: dict[str, Any] | None = None,
    routing: dict[str, Any] | None = None,
    transcript: list[dict[str, Any]] | None = None,
) -> tuple[Handover, bool]:
    """Start a handover, or return the session's open one; ``(handover, created)``.

    The provider's conversation is created by a task once this transaction commits; the
    transcript goes first in the outbox, so the agent sees the context before anything else.
    """
    refusal = endpoint.handover_refusal()
    if refusal:
        raise HandoverRefused(refusal)
    provider = endpoint.get_provider()
    now = timezone.now()
    with transaction.atomic():
        existing = _open_handover(endpoint, session_id)
        if existing is not None:
            return existing, False
        handover = Handover(
            endpoint=endpoint,
            provider=provider.id,
            user_id=user_id,
            session_id=session_id,
            profile=profile or {},
            custom_fields=custom_fields or {},
            routing=routing or {},
            session_duration_minutes=provider.session_duration_minutes(endpoint),
            started_at=now,
        )
        reset_idle_clock(handover, now)
        try:
            with transaction.atomic():  # a publish registered here is dropped with it
                outbox_enqueue(handover, now=now)
                handover.save()
        except IntegrityError:  # another request for the same session won the race
            existing = _open_handover(endpoint, session_id)
            if existing is None:
                raise
            return existing, False
        OutboundMessage.objects.bulk_create(
            [
                OutboundMessage(
                    handover=handover, kind=OutboundMessage.Kind.START, text=START_TEXT
                ),
                *(
                    OutboundMessage(
                        handover=handover, kind=OutboundMessage.Kind.TRANSCRIPT, text=text
                    )
                    for text in transcript_messages(transcript or [])
                ),
            ]
        )
    logger.info("Handover %s started on endpoint %s", handover.public_id, endpoint.pk)
    return handover, True


def _open_handover(endpoint: Endpoint, session_id: str) -> Handover | None:
    return (
        Handover.objects.filter(endpoint=endpoint, session_id=session_id)
        .exclude(status=HandoverStatus.ENDED)
        .first()
    )


def handover_message_add(
    *,
    handover: Handover,
    text: str,
    client_message_id: str = "",
    attachments: list[dict[str, Any]] | None = None,
    quick_reply: dict[str, Any] | None = None,
) -> tuple[OutboundMessage, bool]:
    """Queue a user message (its text, its attachments by URL, or the answer to a quick
    reply: ``text``, ``payload``, the offering event's ``in_reply_to`` and its
    ``provider_message_id``) for the agent; ``(message, created)``. Idempotent per client id."""
    # Four statements, in the caller's transaction when there is one (no savepoint: nothing
    # is raised inside): the lock, the client id's lookup, the row, the idle clock.
    with transaction.atomic(savepoint=False):
        locked = (
            Handover.objects.select_for_update(of=("self",))
            .only(*MESSAGE_FIELDS)
            .get(pk=handover.pk)
        )
        existing = None
        if client_message_id:
            existing = locked.outbox.filter(client_message_id=client_message_id).first()
        if existing is None and locked.is_open:
            message = OutboundMessage.objects.create(
                handover=locked,
                text=text,
                client_message_id=client_message_id,
                data=_message_data(attachments, quick_reply),
            )
            now = timezone.now()
            reset_idle_clock(locked, now)
            queued = outbox_enqueue(locked, now=now)
            locked.save(update_fields=["last_activity_at", "expires_at", "warn_at", *queued])
    if existing is not None:
        return existing, False
    if not locked.is_open:
        raise HandoverClosed(f"The handover has ended ({locked.get_end_reason_display()}).")
    return message, True


def _message_data(
    attachments: list[dict[str, Any]] | None, quick_reply: dict[str, Any] | None
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if attachments:
        data["attachments"] = attachments
    if quick_reply:
        data["quick_reply"] = quick_reply
    return data


def handover_typing(*, handover: Handover) -> None:
    """The user is typing: tell the agent, best effort (no outbox, no retry, no order)."""
    if not handover.is_open:
        raise HandoverClosed(f"The handover has ended ({handover.get_end_reason_display()}).")
    enqueue_after_commit(TYPING, handover.pk)


def handover_event_record(
    *,
    handover_id: int,
    kind: str,
    data: dict[str, Any] | None = None,
    external_id: str = "",
    activity: bool = False,
) -> HandoverEvent | None:
    """Record an event for the channel (and its callback); ``None`` if already recorded.

    ``activity`` marks an agent message: it resets the idle clock. An agent joining makes
    the handover active. Nothing but ``ended`` is recorded once the handover has ended.
    """
    with transaction.atomic():
        handover = lock_handover(handover_id)
        event = record_event(handover, kind, data or {}, external_id=external_id)
        if event is None:
            return None
        fields = ["last_event_seq"]
        if activity:
            reset_idle_clock(handover, event.created_at)
            fields += ["last_activity_at", "expires_at", "warn_at"]
        first = FIRSTS.get(kind)
        if first and getattr(handover, first) is None:
            setattr(handover, first, event.created_at)
            fields.append(first)
        if kind == EventKind.AGENT_JOINED:
            handover.status = HandoverStatus.ACTIVE
            handover.agent_name = str((data or {}).get("agent_name", ""))[:255]
            fields += ["status", "agent_name"]
        handover.save(update_fields=fields)
    return event


def record_event(
    handover: Handover, kind: str, data: dict[str, Any], *, external_id: str = ""
) -> HandoverEvent | None:
    """Add the next event of a locked handover (the caller saves ``last_event_seq``)."""
    if not handover.is_open and kind != EventKind.ENDED:
        return None
    if external_id and handover.events.filter(external_id=external_id).exists():
        return None
    handover.last_event_seq += 1
    callback = bool(handover.endpoint.callback_url)
    event = HandoverEvent.objects.create(
        handover=handover,
        seq=handover.last_event_seq,
        kind=kind,
        data=data,
        external_id=external_id,
        delivery=DeliveryStatus.PENDING if callback else DeliveryStatus.NONE,
        next_delivery_at=timezone.now() if callback else None,
    )
    if callback:
        enqueue_after_commit(CALLBACKS_DELIVER, handover.pk)
    return event


def handover_end(
    *,
    handover_id: int,
    reason: str,
    ended_by: AbstractBaseUser | None = None,
    detail: str = "",
    disconnect: bool = True,
    due_by: datetime | None = None,
) -> bool:
    """End a handover once: record ``ended`` and, unless the provider ended it, leave the
    provider's conversation (so no agent is left with an abandoned chat). ``False`` when it
    had already ended, or (``due_by``: an expiry) when it is no longer due at that time.

    The disconnect is an outbox row written in the same transaction: a broker outage or a
    provider failing for a while delays it, never loses it.
    """
    with transaction.atomic():
        handover = lock_handover(handover_id)
        if not handover.is_open:
            return False
        if due_by is not None and (handover.expires_at is None or handover.expires_at > due_by):
            return False  # a message reset the idle clock after the expiry listed it
        now = timezone.now()
        handover.status = HandoverStatus.ENDED
        handover.end_reason = reason
        handover.end_detail = detail[:2000]
        handover.ended_at = now
        handover.ended_by = ended_by if ended_by and ended_by.is_authenticated else None
        handover.expires_at = handover.warn_at = None
        data: dict[str, Any] = {"reason": reason}
        if detail and reason == EndReason.ERROR:
            data["detail"] = detail[:500]
        record_event(handover, EventKind.ENDED, data)
        fields = [*END_FIELDS, "last_event_seq"]
        handover.outbox.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]).update(
            status=OutboxStatus.FAILED, last_error="The handover ended before it was sent."
        )
        if disconnect:
            OutboundMessage.objects.create(
                handover=handover, kind=OutboundMessage.Kind.DISCONNECT, text=DISCONNECT_TEXT
            )
            fields += outbox_enqueue(handover, now=now)
        handover.save(update_fields=fields)
    logger.info("Handover %s ended: %s", handover.public_id, reason)
    return True


def mark_queued(handover_id: int) -> None:
    """The provider's conversation exists: the handover waits for an agent."""
    with transaction.atomic():
        handover = lock_handover(handover_id)
        if handover.status == HandoverStatus.STARTING:
            handover.status = HandoverStatus.QUEUED
            handover.save(update_fields=["status"])
