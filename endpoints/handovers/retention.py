"""Retention: what is deleted, and when.

An ended handover is deleted ``HANDOVER_RETENTION_DAYS`` after it ended, with everything
recorded about it: its events, its outbox (the transcript and the user's messages), the
provider's conversation rows (which cascade from it) and its admin history. One with work
still due (an unsent outbox row such as a disconnect being retried, an undelivered
callback) or a live lease waits for it. The beat deletes a bounded batch and runs again
while batches come back full, so each run's cost follows the rows due, not the table.

Django's expired sessions are deleted on the beat too (``clearsessions``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from endpoints.handovers import leases
from endpoints.handovers.outbox import UNSENT
from endpoints.models import Handover, HandoverEvent, HandoverStatus, OutboundMessage
from endpoints.models.handover import DeliveryStatus

logger = logging.getLogger(__name__)

#: Handovers deleted per batch (with their rows: a few queries per batch, whatever its size).
PURGE_BATCH = 500


def retention_policy() -> str:
    """The policy in one sentence, as the handover sessions admin shows it."""
    days = settings.HANDOVER_RETENTION_DAYS
    if days <= 0:
        return "Ended sessions are kept forever (HANDOVER_RETENTION_DAYS is 0)."
    unit = "day" if days == 1 else "days"
    return (
        f"Ended sessions are deleted {days} {unit} after they ended, with their transcript, "
        "events and provider records (HANDOVER_RETENTION_DAYS)."
    )


def purgeable_handovers(now: datetime) -> QuerySet[Handover]:
    """Ended before the retention period, nothing left to do, no worker on them."""
    cutoff = now - timedelta(days=settings.HANDOVER_RETENTION_DAYS)
    unsent = OutboundMessage.objects.filter(handover=OuterRef("pk"), status__in=UNSENT)
    undelivered = HandoverEvent.objects.filter(
        handover=OuterRef("pk"), delivery=DeliveryStatus.PENDING
    )
    return Handover.objects.filter(
        leases.free(leases.SENDER),
        leases.free(leases.CALLBACK),
        ~Exists(unsent),
        ~Exists(undelivered),
        status=HandoverStatus.ENDED,
        ended_at__lt=cutoff,
    )


def handovers_purge(*, now: datetime | None = None, batch_size: int = PURGE_BATCH) -> int:
    """Delete one batch of handovers past their retention; how many it deleted."""
    if settings.HANDOVER_RETENTION_DAYS <= 0:
        return 0
    due = purgeable_handovers(now or timezone.now())
    with transaction.atomic():
        ids = list(due.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return 0
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Handover),
            object_id__in=[str(pk) for pk in ids],
        ).delete()
        # The same conditions again: a row that changed since the listing stays.
        due.filter(pk__in=ids).delete()
    return len(ids)


# Each task keeps the name it had before its module moved: queued messages carry it.
@shared_task(name="endpoints.retention.handovers_purge_task", acks_late=True)
def handovers_purge_task() -> None:
    """The beat: delete ended handovers past ``HANDOVER_RETENTION_DAYS`` (batches; runs
    again while batches are full)."""
    deleted = handovers_purge(batch_size=PURGE_BATCH)
    if deleted:
        logger.info("Retention: deleted %s ended handovers", deleted)
    if deleted == PURGE_BATCH:
        handovers_purge_task.delay()


@shared_task(name="endpoints.retention.sessions_clear_task", acks_late=True)
def sessions_clear_task() -> None:
    """The beat: Django's ``clearsessions`` (expired sessions, e.g. idle admin sessions)."""
    call_command("clearsessions")
