"""The relay's outbox: user messages reach the agent once each, in the order they were sent.

One worker at a time sends a handover's outbox (the sender lease), oldest first. Each
attempt is recorded (``sending``) before the provider is called, so if the worker dies
mid-send the next one knows the outcome is unknown and asks the provider whether the
message arrived (``find_sent``) instead of sending it twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from endpoints import leases, retries
from endpoints.models import EndReason, EventKind, Handover, HandoverStatus, OutboundMessage
from endpoints.models.handover import OutboxStatus
from endpoints.services import handover_end, handover_event_record
from endpoints.transports import (
    ConversationOver,
    PermanentFailure,
    TemporaryFailure,
    TransportError,
    UnknownOutcome,
)

logger = logging.getLogger(__name__)

UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def outbox_send(handover_id: int) -> float | None:
    """Send the handover's due outbox messages in order.

    Returns in how many seconds to run again (a message waits for a retry), or ``None``.
    """
    if not leases.claim(handover_id, leases.SENDER):
        return None  # another worker is sending this handover's outbox
    try:
        return _send_due(handover_id)
    finally:
        leases.release(handover_id, leases.SENDER)


def has_due_messages(handover_id: int) -> bool:
    now = timezone.now()
    unsent = OutboundMessage.objects.filter(handover_id=handover_id, status__in=UNSENT)
    first = unsent.order_by("pk").first()
    return first is not None and (first.next_attempt_at is None or first.next_attempt_at <= now)


def _send_due(handover_id: int) -> float | None:
    while True:
        handover = Handover.objects.select_related("endpoint").get(pk=handover_id)
        if handover.status not in (HandoverStatus.QUEUED, HandoverStatus.ACTIVE):
            return None  # not started yet (the start task sends then) or ended
        message = handover.outbox.filter(status__in=UNSENT).order_by("pk").first()
        if message is None:
            return None
        now = timezone.now()
        if message.next_attempt_at and message.next_attempt_at > now:
            return (message.next_attempt_at - now).total_seconds()
        transport = handover.endpoint.get_provider().get_transport()
        try:
            if message.status == OutboxStatus.SENDING and _arrived(transport, handover, message):
                continue
            _begin_attempt(message)
            remote_id = transport.send(handover, message)
        except ConversationOver as error:
            handover_end(
                handover_id=handover_id,
                reason=EndReason.AGENT_LEFT,
                detail=str(error),
                disconnect=False,
            )
            return None
        except PermanentFailure as error:
            _fail(handover, message, str(error))
            continue
        except UnknownOutcome as error:
            return _retry_later(handover, message, error, keep_sending=True)
        except TemporaryFailure as error:
            return _retry_later(handover, message, error, keep_sending=False)
        _mark_sent(message, remote_id)
        leases.renew(handover_id, leases.SENDER)


def _arrived(transport: object, handover: Handover, message: OutboundMessage) -> bool:
    """After an attempt whose outcome is unknown: did it arrive? If so, record it sent."""
    remote_id = transport.find_sent(handover, message)  # type: ignore[attr-defined]
    if remote_id is None:
        return False
    logger.info("Outbox message %s had arrived before; not sending it again", message.pk)
    _mark_sent(message, remote_id)
    return True


def _begin_attempt(message: OutboundMessage) -> None:
    message.status = OutboxStatus.SENDING
    message.attempts += 1
    message.attempt_started_at = timezone.now()
    message.save(update_fields=["status", "attempts", "attempt_started_at"])


def _mark_sent(message: OutboundMessage, remote_id: str) -> None:
    message.status = OutboxStatus.SENT
    message.remote_id = remote_id[:255]
    message.sent_at = timezone.now()
    message.last_error = ""
    message.save(update_fields=["status", "remote_id", "sent_at", "last_error"])


def _retry_later(
    handover: Handover, message: OutboundMessage, error: TransportError, *, keep_sending: bool
) -> float | None:
    if message.attempts >= settings.RELAY_MAX_ATTEMPTS:
        if keep_sending:
            # One last look before giving up: the message may have arrived after all.
            try:
                transport = handover.endpoint.get_provider().get_transport()
                if _arrived(transport, handover, message):
                    return 0.0
            except TransportError:
                pass
        _fail(handover, message, str(error))
        return 0.0
    delay = error.retry_after
    if delay is None:
        delay = retries.backoff_seconds(
            message.attempts,
            base=settings.RELAY_BACKOFF_SECONDS,
            cap=settings.RELAY_BACKOFF_MAX_SECONDS,
        )
    message.status = OutboxStatus.SENDING if keep_sending else OutboxStatus.PENDING
    message.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    message.last_error = str(error)[:500]
    message.save(update_fields=["status", "next_attempt_at", "last_error"])
    logger.warning(
        "Outbox message %s of handover %s: attempt %s failed (%s); retrying in %.2f s",
        message.pk, handover.public_id, message.attempts, type(error).__name__, delay,
    )  # fmt: skip
    return delay


def _fail(handover: Handover, message: OutboundMessage, reason: str) -> None:
    """Give up on a message: mark it failed (the admin shows it) and tell the channel."""
    with transaction.atomic():
        message.status = OutboxStatus.FAILED
        message.last_error = reason[:500]
        message.save(update_fields=["status", "last_error"])
        if message.kind == OutboundMessage.Kind.MESSAGE:
            handover_event_record(
                handover_id=handover.pk,
                kind=EventKind.MESSAGE_FAILED,
                data={"client_message_id": message.client_message_id, "reason": reason[:500]},
                external_id=f"failed:{message.pk}",
            )
    logger.warning("Outbox message %s of handover %s failed", message.pk, handover.public_id)
