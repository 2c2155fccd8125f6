"""Expiry of idle handovers: a warning first (``expiry_warning``), then ``ended: expired``.

Each step is set-based: one transaction per batch locks the due handovers through the
partial indexes on ``warn_at`` and ``expires_at`` (null when not due) and writes the whole
batch in a fixed number of statements, so a beat's cost follows the handovers due, not the
handovers open, and not even the number due within a batch. The task runs again while
batches come back full.

The lock skips rows another transaction holds (``SKIP LOCKED``): a message being added
keeps its handover for this beat, and two beats running at once take different batches.
PostgreSQL evaluates the due condition again on each row it locks, so a message committed
after the beat's query began keeps its handover too: a handover is warned once and ended
once, and never ended while written to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from endpoints.handovers.services import NEXT_EVENT_SEQ, end_locked, record_events
from endpoints.models import EndReason, EventKind, Handover
from endpoints.models.handover import OPEN_STATUSES


@dataclass
class ExpiryReport:
    warned: int = 0
    expired: int = 0
    more: bool = False


#: Handovers per transaction. The rows a batch locks are idle by definition, so a writer
#: rarely waits for one; 500 rather than 200 cut a sweep's CPU by a fifth (per-batch costs).
BATCH_SIZE = 500


def handovers_expire(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> ExpiryReport:
    """Warn a batch of the handovers whose warning is due, and end a batch of those idle
    past their duration; ``more`` when a batch came back full."""
    now = now or timezone.now()
    with transaction.atomic():
        warned = _lock_due("warn_at", now, batch_size)
        _warn_locked(warned, now)
    with transaction.atomic():
        expired = _lock_due("expires_at", now, batch_size)
        end_locked(expired, reason=EndReason.EXPIRED)
    return ExpiryReport(
        warned=len(warned),
        expired=len(expired),
        more=batch_size in (len(warned), len(expired)),
    )


#: What the warning and the end read of a handover (``record_events``, ``end_locked``).
LOCKED_FIELDS = ("public_id", "endpoint", "last_event_seq", "expires_at", "last_activity_at")


def _lock_due(column: str, now: datetime, limit: int) -> list[Handover]:
    """Lock the open handovers whose ``column`` is due at ``now``, oldest first (the
    handover rows only: the endpoints' stay free for everyone else)."""
    return list(
        Handover.objects.filter(**{f"{column}__lte": now}, status__in=OPEN_STATUSES)
        .only(*LOCKED_FIELDS)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by(column)[:limit]
    )


def _warn_locked(handovers: list[Handover], now: datetime) -> None:
    """Record each handover's ``expiry_warning`` and clear its ``warn_at`` (warned once)."""
    if not handovers:
        return
    record_events(
        EventKind.EXPIRY_WARNING,
        [
            (
                handover,
                {
                    "expires_at": handover.expires_at.isoformat() if handover.expires_at else None,
                    "idle_minutes": handover.idle_minutes(now),
                },
            )
            for handover in handovers
        ],
    )
    Handover.objects.filter(pk__in=[handover.pk for handover in handovers]).update(
        warn_at=None, last_event_seq=NEXT_EVENT_SEQ
    )
    for handover in handovers:
        handover.warn_at = None
