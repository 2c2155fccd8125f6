"""Handover business logic: starting, messages, events, ending. Views, tasks and the admin
call these; they keep every rule about handovers in one place.

Every change is made under a row lock on the handover, so events are numbered in commit
order (a client polling with the last cursor sees each exactly once) and a handover is
ended once, whoever races to end it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from endpoints.handovers.enqueue import (
    CALLBACKS_DELIVER,
    OUTBOX_SEND,
    TYPING,
    enqueue_after_commit,
    enqueue_each_after_commit,
)
from endpoints.handovers.inserts import insert_events, insert_outbox_rows, next_events
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

#: The text of the outbox rows that are provider steps rather than messages.
START_TEXT = "Create the provider's conversation."
DISCONNECT_TEXT = "Leave the provider's conversation."


def lock_handover(handover_id: int) -> Handover:
    return Handover.objects.select_for_update().select_related("endpoint").get(pk=handover_id)


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
            with transaction.atomic():
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
        enqueue_after_commit(OUTBOX_SEND, handover.pk)
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
    with transaction.atomic():
        locked = lock_handover(handover.pk)
        if client_message_id:
            existing = locked.outbox.filter(client_message_id=client_message_id).first()
            if existing is not None:
                return existing, False
        if not locked.is_open:
            raise HandoverClosed(f"The handover has ended ({locked.get_end_reason_display()}).")
        message = OutboundMessage.objects.create(
            handover=locked,
            text=text,
            client_message_id=client_message_id,
            data=_message_data(attachments, quick_reply),
        )
        reset_idle_clock(locked, timezone.now())
        locked.save(update_fields=["last_activity_at", "expires_at", "warn_at"])
        enqueue_after_commit(OUTBOX_SEND, locked.pk)
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
    [event] = next_events(
        [(handover, data)], kind=kind, now=timezone.now(), external_id=external_id
    )
    event.save(force_insert=True)
    if event.delivery == DeliveryStatus.PENDING:
        enqueue_after_commit(CALLBACKS_DELIVER, handover.pk)
    return event


def record_events(kind: str, items: Sequence[tuple[Handover, dict[str, Any]]]) -> None:
    """``record_event`` for a batch of locked handovers, ``(handover, data)``, in one INSERT
    (their callbacks published as one task); the caller adds one to each ``last_event_seq``
    (``NEXT_EVENT_SEQ``)."""
    pending = insert_events(items, kind=kind, now=timezone.now())
    enqueue_each_after_commit(CALLBACKS_DELIVER, pending)


#: ``last_event_seq`` after ``record_events`` gave each handover of an UPDATE one event.
NEXT_EVENT_SEQ = F("last_event_seq") + 1


def handover_end(
    *,
    handover_id: int,
    reason: str,
    ended_by: AbstractBaseUser | None = None,
    detail: str = "",
    disconnect: bool = True,
) -> bool:
    """End a handover once: record ``ended`` and, unless the provider ended it, leave the
    provider's conversation (so no agent is left with an abandoned chat). ``False`` when it
    had already ended.

    The disconnect is an outbox row written in the same transaction: a broker outage or a
    provider failing for a while delays it, never loses it.
    """
    with transaction.atomic():
        handover = lock_handover(handover_id)
        if not handover.is_open:
            return False
        end_locked(
            [handover], reason=reason, ended_by=ended_by, detail=detail, disconnect=disconnect
        )
    return True


def end_locked(
    handovers: Sequence[Handover],
    *,
    reason: str,
    ended_by: AbstractBaseUser | None = None,
    detail: str = "",
    disconnect: bool = True,
) -> None:
    """End open handovers whose row locks the caller holds: what ending writes, for one
    handover (``handover_end``) or a batch (the expiry), in the same four statements
    whatever their number: the ``ended`` events, the statuses, the unsent outbox rows given
    up, and (``disconnect``) an outbox row each to leave the provider's conversation, its
    task published once the transaction commits.
    """
    if not handovers:
        return
    now = timezone.now()
    ended_by = ended_by if ended_by and ended_by.is_authenticated else None
    data: dict[str, Any] = {"reason": reason}
    if detail and reason == EndReason.ERROR:
        data["detail"] = detail[:500]
    record_events(EventKind.ENDED, [(handover, data) for handover in handovers])
    ended = {
        "status": HandoverStatus.ENDED,
        "end_reason": reason,
        "end_detail": detail[:2000],
        "ended_at": now,
        "ended_by": ended_by,
        "expires_at": None,
        "warn_at": None,
    }
    ids = [handover.pk for handover in handovers]
    Handover.objects.filter(pk__in=ids).update(**ended, last_event_seq=NEXT_EVENT_SEQ)
    OutboundMessage.objects.filter(
        handover_id__in=ids, status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]
    ).update(status=OutboxStatus.FAILED, last_error="The handover ended before it was sent.")
    if disconnect:
        insert_outbox_rows(ids, kind=OutboundMessage.Kind.DISCONNECT, text=DISCONNECT_TEXT, now=now)
        enqueue_each_after_commit(OUTBOX_SEND, ids)
    for handover in handovers:
        for field, value in ended.items():
            setattr(handover, field, value)
    # One record for a batch: a record per handover cost the expiry more than its SQL.
    logger.info("Handover %s ended: %s", ", ".join(str(h.public_id) for h in handovers), reason)


def mark_queued(handover_id: int) -> None:
    """The provider's conversation exists: the handover waits for an agent."""
    with transaction.atomic():
        handover = lock_handover(handover_id)
        if handover.status == HandoverStatus.STARTING:
            handover.status = HandoverStatus.QUEUED
            handover.save(update_fields=["status"])
