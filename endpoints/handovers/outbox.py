"""The relay's outbox: everything a handover asks of its provider, once each and in order.

A handover's outbox holds its provider work as rows: the start (create the provider's
conversation), the transcript and the user's messages, and the disconnect once it ends.
One worker at a time works through it (the sender lease), oldest first, so messages reach
the agent in the order the user sent them whatever the number of workers. Each attempt is
recorded (``sending``) before the provider is called, so if the worker dies mid-send the
next one knows the outcome is unknown and asks the provider whether the message arrived
(``find_sent``) instead of sending it twice.

Whatever fails in a provider call counts as an attempt against ``RELAY_MAX_ATTEMPTS``:
a transport's typed errors say how to go on; anything else (an unreadable secret, a
provider no longer configured) is a temporary failure, logged by type, never by message.
The transport is the one of the provider the handover started with (``Handover.provider``),
so switching an endpoint's provider never strands a handover that is open.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from endpoints import backoff
from endpoints.handovers import leases
from endpoints.handovers.enqueue import OUTBOX_SEND, enqueue_after_commit
from endpoints.handovers.leases import Lease, LeaseLost
from endpoints.handovers.services import handover_end, handover_event_record, mark_queued
from endpoints.handovers.transports import (
    ConversationOver,
    HandoverTransport,
    PermanentFailure,
    TransportError,
    UnknownOutcome,
)
from endpoints.models import (
    EndReason,
    EventKind,
    Handover,
    HandoverEvent,
    HandoverStatus,
    OutboundMessage,
)
from endpoints.models.handover import OutboxStatus
from endpoints.providers import get_provider, get_providers

logger = logging.getLogger(__name__)

Kind = OutboundMessage.Kind
UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)
#: The rows each status lets the worker act on (the start first, the disconnect last).
DUE_KINDS = {
    HandoverStatus.STARTING: (Kind.START,),
    HandoverStatus.QUEUED: (Kind.TRANSCRIPT, Kind.MESSAGE, Kind.RECEIPT),
    HandoverStatus.ACTIVE: (Kind.TRANSCRIPT, Kind.MESSAGE, Kind.RECEIPT),
    # Receipts of an ended handover are still sent: the agent's view of the last messages.
    HandoverStatus.ENDED: (Kind.DISCONNECT, Kind.RECEIPT),
}
#: Provider messages a receipt can be about (the ones with the provider's message id).
RECEIPT_EVENTS = (EventKind.AGENT_MESSAGE, EventKind.SYSTEM_MESSAGE)


def transport_for(handover: Handover) -> HandoverTransport:
    """The transport of the provider the handover started with (not the endpoint's now)."""
    return get_provider(handover.provider).get_transport()


def outbox_send(handover_id: int) -> float | None:
    """Do the handover's due provider work in order.

    Returns in how many seconds to run again (a row waits for a retry), or ``None``.
    """

    with leases.holding(handover_id, leases.SENDER) as lease:
        if lease is None:
            return None  # another worker is on this handover
        try:
            return _send_due(lease)
        except LeaseLost:
            logger.warning("Handover %s: the sender lease was taken over; stopping", handover_id)
            return None


def due_by_status(prefix: str = "handover__") -> Q:
    """Rows of the kinds their handover's status lets the worker act on."""
    due = Q()
    for status, kinds in DUE_KINDS.items():
        due |= Q(**{f"{prefix}status": status, "kind__in": kinds})
    return due


def next_row(handover_id: int, *, with_handover: bool = True) -> OutboundMessage | None:
    """The row the worker acts on next, if any (due or waiting for its retry), read with its
    handover's status now (``handover_status``) and, ``with_handover``, the handover and its
    endpoint: one statement, two if the first unsent row is not due.

    The first unsent row is due whenever the handover's rows are as its services leave
    them (the start first; messages only once queued; unsent messages failed at the end),
    so it is read without the rule of what is due (``due_by_status``, which cost as much to
    compile as the rest of the read) and checked against it here; only a row the rule
    holds back makes the read again with the rule.
    """
    row = _first_unsent(handover_id, with_handover=with_handover)
    if row is not None and row.kind not in DUE_KINDS[row.handover_status]:
        row = _first_unsent(handover_id, with_handover=with_handover, due=due_by_status())
    if row is not None and with_handover:
        if len(_providers_seen) >= PROVIDERS_SEEN:
            _providers_seen.clear()  # all at once: rare, and safe beside other threads
        _providers_seen[handover_id] = row.handover.provider
    return row


def _first_unsent(handover_id: int, *, with_handover: bool, due: Q | None = None):
    # Receipts after everything else: one waiting for its retry never holds up a message.
    receipts_last = Case(
        When(kind=Kind.RECEIPT, then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    rows = OutboundMessage.objects.filter(handover_id=handover_id, status__in=UNSENT)
    if due is not None:
        rows = rows.filter(due)
    rows = rows.annotate(handover_status=F("handover__status"))
    if with_handover:
        provider = _providers_seen.get(handover_id)
        related = transports_related(None if provider is None else [provider])
        rows = rows.select_related("handover__endpoint", *(f"handover__{p}" for p in related))
    return rows.order_by(receipts_last, "pk").first()


#: Handovers whose provider this process has read (a handover's provider never changes),
#: so that their rows are read with that provider's tables only: joining every provider's
#: made the read cost twice as much to compile and plan.
PROVIDERS_SEEN = 10_000
_providers_seen: dict[int, str] = {}


def transports_related(providers: list[str] | None = None) -> list[str]:
    """What the transports of ``providers`` (by default every configured provider) read of
    a handover (``related``)."""
    paths: set[str] = set()
    for name, provider in get_providers().items():
        if providers is not None and name not in providers:
            continue
        try:
            paths.update(provider.get_transport().related)
        except Exception:  # noqa: S112 (no transport, or one that fails to load: read lazily)
            continue
    return sorted(paths)


def receipt_wanted(event: HandoverEvent) -> bool:
    """Whether the provider wants to hear whether the channel got ``event``: its transport
    wants receipts and the event is one of its messages."""
    if event.kind not in RECEIPT_EVENTS or not event.external_id:
        return False
    try:
        return transport_for(event.handover).wants_receipts
    except Exception:  # a provider gone from the code: nobody to tell
        return False


def receipt_enqueue(event: HandoverEvent, *, delivered: bool, reason: str = "") -> None:
    """Within the transaction that settles ``event``'s callback: queue a receipt for the
    provider when its transport wants them and the event is one of its messages (once per
    event)."""
    if not receipt_wanted(event):
        return
    handover = event.handover
    _, created = OutboundMessage.objects.get_or_create(
        handover=handover,
        client_message_id=f"receipt:{event.seq}",
        defaults={
            "kind": Kind.RECEIPT,
            "text": "",
            "data": {
                "message_id": event.external_id,
                "status": "delivered" if delivered else "failed",
                "reason": reason[:500],
            },
        },
    )
    if created:
        enqueue_after_commit(OUTBOX_SEND, handover.pk)


def has_due_messages(handover_id: int) -> bool:
    """Whether a row is due now and no worker holds the sender lease (one statement)."""
    return (
        OutboundMessage.objects.filter(
            due_by_status(),
            leases.free(leases.SENDER, prefix="handover__"),
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()),
            handover_id=handover_id,
            status__in=UNSENT,
        )
        .order_by()
        .exists()
    )


def _send_due(lease: Lease) -> float | None:
    """Work through the rows in order while the lease is held: one statement to read each
    row, one to record its attempt, one its result (the handover is read once, its status
    with each row)."""
    handover: Handover | None = None  # kept, with what its transport reads cached on it
    while True:
        row = next_row(lease.handover_id, with_handover=handover is None)
        if row is None:
            return None
        if handover is None:
            handover = row.handover
        handover.status = row.handover_status
        row.handover = handover
        now = timezone.now()
        if row.next_attempt_at and row.next_attempt_at > now:
            return (row.next_attempt_at - now).total_seconds()
        begun, in_doubt = False, row.status == OutboxStatus.SENDING
        try:
            transport = transport_for(handover)
            if row.status == OutboxStatus.SENDING and _arrived(lease, transport, handover, row):
                continue

            _begin_attempt(lease, row)
            begun = True
            remote_id = _perform(transport, handover, row)
        except LeaseLost:
            raise
        except Exception as error:  # every failure counts as an attempt
            if not begun:  # failed before the call (no transport, the check before a resend)
                _begin_attempt(lease, row)
            # Still in doubt if the check of an earlier unknown outcome is what failed.
            delay = _after_failure(lease, handover, row, error, in_doubt=in_doubt and not begun)
            if delay is None:
                continue
            return delay
        _mark_done(lease, row, remote_id)
        if row.kind == Kind.START:
            handover = None  # the start made the provider's rows: read them with the next


def _after_failure(
    lease: Lease, handover: Handover, row: OutboundMessage, error: Exception, *, in_doubt: bool
) -> float | None:
    """Record a failed attempt; seconds until the row is due again, or ``None`` to go on."""
    if isinstance(error, ConversationOver):
        _conversation_over(lease, handover, row, str(error))
        return None
    if isinstance(error, PermanentFailure):
        _fail(lease, handover, row, str(error), disconnect=False)
        return None
    if isinstance(error, UnknownOutcome):
        return _retry_later(lease, handover, row, error, keep_sending=True)
    if isinstance(error, TransportError):
        return _retry_later(lease, handover, row, error, keep_sending=in_doubt)
    logger.warning(
        "Outbox row %s of handover %s: unexpected %s in the provider call",
        row.pk, handover.public_id, type(error).__name__,
    )  # fmt: skip
    failure = UnknownOutcome(f"Unexpected error in the provider call ({type(error).__name__}).")
    return _retry_later(lease, handover, row, failure, keep_sending=True)


def _perform(transport: HandoverTransport, handover: Handover, row: OutboundMessage) -> str:
    if row.kind == Kind.START:
        transport.start(handover)
        return ""
    if row.kind == Kind.DISCONNECT:
        transport.end(handover)
        return ""
    if row.kind == Kind.RECEIPT:
        transport.send_receipt(handover, row)
        return ""
    return transport.send(handover, row)


def _arrived(
    lease: Lease, transport: HandoverTransport, handover: Handover, row: OutboundMessage
) -> bool:
    """After an attempt whose outcome is unknown: did it arrive? If so, record it sent.

    Only messages are looked for: a start and a disconnect are idempotent.
    """
    if row.kind not in (Kind.TRANSCRIPT, Kind.MESSAGE):
        return False
    lease.keep_alive()
    remote_id = transport.find_sent(handover, row)
    if remote_id is None:
        return False
    logger.info("Outbox message %s had arrived before; not sending it again", row.pk)
    _mark_done(lease, row, remote_id)
    return True


def _write(lease: Lease, row: OutboundMessage, fields: list[str]) -> None:
    """Save ``fields`` of the row in one statement fenced by the lease (renewed first when
    a third of it has passed); ``LeaseLost`` if another worker holds it now."""
    lease.keep_alive()
    values = {name: getattr(row, name) for name in fields}
    if OutboundMessage.objects.filter(lease.fence(), pk=row.pk).update(**values) != 1:
        raise LeaseLost(f"Handover {lease.handover_id}: the sender lease was taken over.")


def _begin_attempt(lease: Lease, row: OutboundMessage) -> None:
    row.status = OutboxStatus.SENDING
    row.attempts += 1
    row.attempt_started_at = timezone.now()
    _write(lease, row, ["status", "attempts", "attempt_started_at"])


def _mark_done(lease: Lease, row: OutboundMessage, remote_id: str) -> None:
    row.status = OutboxStatus.SENT
    row.remote_id = remote_id[:255]
    row.sent_at = timezone.now()
    row.last_error = ""
    fields = ["status", "remote_id", "sent_at", "last_error"]
    if row.kind != Kind.START:
        _write(lease, row, fields)
        return
    with transaction.atomic():  # the start is done and the handover queued, or neither
        lease.renew()
        row.save(update_fields=fields)
        mark_queued(lease.handover_id)


def _conversation_over(lease: Lease, handover: Handover, row: OutboundMessage, reason: str) -> None:
    """The provider's conversation has ended: the agent left (or it never started)."""
    if row.kind == Kind.DISCONNECT:
        _mark_done(lease, row, "")  # nothing left to leave
        return
    with transaction.atomic():
        lease.renew()
        handover_end(
            handover_id=handover.pk,
            reason=EndReason.ERROR if row.kind == Kind.START else EndReason.AGENT_LEFT,
            detail=reason,
            disconnect=False,
        )


def _retry_later(
    lease: Lease,
    handover: Handover,
    row: OutboundMessage,
    error: TransportError,
    *,
    keep_sending: bool,
) -> float | None:
    if _exhausted(row):
        if keep_sending:
            # One last look before giving up: the message may have arrived after all.
            try:
                if _arrived(lease, transport_for(handover), handover, row):
                    return 0.0
            except LeaseLost:
                raise
            except Exception:  # noqa: S110 (giving up anyway)
                pass
        _fail(lease, handover, row, str(error), disconnect=True)
        return 0.0
    delay = error.retry_after
    if delay is None:
        delay = backoff.backoff_seconds(
            row.attempts,
            base=settings.RELAY_BACKOFF_SECONDS,
            cap=settings.RELAY_BACKOFF_MAX_SECONDS,
        )
    with transaction.atomic():
        lease.renew()
        row.status = OutboxStatus.SENDING if keep_sending else OutboxStatus.PENDING
        row.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        row.last_error = str(error)[:500]
        row.save(update_fields=["status", "next_attempt_at", "last_error"])
    logger.warning(
        "Outbox %s #%s of handover %s: attempt %s failed (%s); retrying in %.2f s",
        row.kind, row.pk, handover.public_id, row.attempts, type(error).__name__, delay,
    )  # fmt: skip
    return delay


def _exhausted(row: OutboundMessage) -> bool:
    """Whether to give up: a disconnect keeps trying for a window, the rest for attempts."""
    if row.kind == Kind.DISCONNECT:
        window = timedelta(seconds=settings.RELAY_DISCONNECT_WINDOW_SECONDS)
        return timezone.now() >= row.created_at + window
    return row.attempts >= settings.RELAY_MAX_ATTEMPTS


def _fail(
    lease: Lease, handover: Handover, row: OutboundMessage, reason: str, *, disconnect: bool
) -> None:
    """Give up on a row: mark it failed (the admin shows it) and say so where it matters:
    the channel hears ``message_failed``; a start that failed ends the handover (and, when
    its outcome is unknown, ``disconnect`` leaves whatever conversation it may have made)."""
    with transaction.atomic():
        lease.renew()
        row.status = OutboxStatus.FAILED
        row.last_error = reason[:500]
        row.save(update_fields=["status", "last_error"])
        if row.kind == Kind.MESSAGE:
            handover_event_record(
                handover_id=handover.pk,
                kind=EventKind.MESSAGE_FAILED,
                data={"client_message_id": row.client_message_id, "reason": reason[:500]},
                external_id=f"failed:{row.pk}",
            )
        elif row.kind == Kind.START:
            handover_end(
                handover_id=handover.pk,
                reason=EndReason.ERROR,
                detail=reason,
                disconnect=disconnect,
            )
    logger.warning("Outbox %s #%s of handover %s failed", row.kind, row.pk, handover.public_id)
