"""Expiry of idle handovers: a warning first (``expiry_warning``), then ``ended: expired``.

Both steps read through partial indexes on ``warn_at`` and ``expires_at`` (null when not
due), so a beat's cost follows the handovers due, not the handovers open; each step takes a
bounded batch and the task runs again while batches come back full. Row locks make two
beats running at once harmless: a handover is warned once and ended once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from endpoints.handovers.services import handover_end, lock_handover, record_event
from endpoints.models import EndReason, EventKind, Handover
from endpoints.models.handover import OPEN_STATUSES


@dataclass
class ExpiryReport:
    warned: int = 0
    expired: int = 0
    more: bool = False


def handovers_expire(*, now: datetime | None = None, batch_size: int = 200) -> ExpiryReport:
    """Warn the handovers whose warning is due, and end those idle past their duration."""
    now = now or timezone.now()
    report = ExpiryReport()
    due_warnings = list(
        Handover.objects.filter(warn_at__lte=now, status__in=OPEN_STATUSES)
        .order_by("warn_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    for handover_id in due_warnings:
        report.warned += _warn(handover_id, now)
    expired = list(
        Handover.objects.filter(expires_at__lte=now, status__in=OPEN_STATUSES)
        .order_by("expires_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    for handover_id in expired:
        report.expired += expire(handover_id, now)
    report.more = len(due_warnings) == batch_size or len(expired) == batch_size
    return report


def expire(handover_id: int, now: datetime) -> bool:
    """End the handover as ``expired`` if, under its row lock, it is still idle past ``now``:
    a message that arrived after the listing keeps it open."""
    return handover_end(handover_id=handover_id, reason=EndReason.EXPIRED, due_by=now)


def _warn(handover_id: int, now: datetime) -> bool:
    with transaction.atomic():
        handover = lock_handover(handover_id)
        if handover.warn_at is None or handover.warn_at > now or not handover.is_open:
            return False  # warned by another beat, or a message reset the clock
        record_event(
            handover,
            EventKind.EXPIRY_WARNING,
            {
                "expires_at": handover.expires_at.isoformat() if handover.expires_at else None,
                "idle_minutes": handover.idle_minutes(now),
            },
        )
        handover.warn_at = None
        handover.save(update_fields=["warn_at", "last_event_seq"])
    return True
