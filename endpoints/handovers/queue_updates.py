"""Queue updates: while a handover waits for an agent, the user hears how long it may take.

The beat runs ``queue_updates_emit`` every ``QUEUE_UPDATE_TICK_SECONDS``. For each waiting
(``queued``) handover of an endpoint with queue updates on (``Endpoint.queue_update_seconds``)
it takes the queue's figures from the endpoint's provider (``agent_availability``, which a
provider caches per queue: Genesys Cloud asks once per queue per
``AGENT_AVAILABILITY_CACHE_SECONDS``, whatever the number of waiting users) and records a
``queue_update`` event when they changed since the handover's last one, or when the
endpoint's interval has passed. Events reach the channel like any other (events API,
callbacks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from endpoints.handovers.services import lock_handover, record_event
from endpoints.models import Endpoint, EventKind, Handover, HandoverEvent, HandoverStatus
from endpoints.providers import ProviderError

logger = logging.getLogger(__name__)

#: The figures compared to tell whether the queue changed (``checked_at`` always does).
FIGURES = ("estimated_wait_seconds", "conversations_waiting", "position")


@dataclass
class QueueUpdateReport:
    emitted: int = 0
    unchanged: int = 0
    unavailable: int = 0


def queue_figures(endpoint: Endpoint) -> dict[str, Any]:
    """What a ``queue_update`` event carries, from the provider's (cached) availability.

    ``position`` is the conversation's place in the queue where the provider gives it;
    Genesys Cloud's queue figures do not, so it is null there.
    """
    availability = endpoint.get_provider().agent_availability(endpoint)
    return {
        "estimated_wait_seconds": availability.estimated_wait_seconds,
        "conversations_waiting": availability.conversations_waiting,
        "position": None,
        "checked_at": availability.checked_at.isoformat(),
    }


def _last_update() -> QuerySet[HandoverEvent]:
    return HandoverEvent.objects.filter(
        handover=OuterRef("pk"), kind=EventKind.QUEUE_UPDATE
    ).order_by("-seq")


def _waiting(batch_size: int) -> list[Handover]:
    last = _last_update()
    return list(
        Handover.objects.filter(status=HandoverStatus.QUEUED, endpoint__queue_update_seconds__gt=0)
        .select_related("endpoint")
        .annotate(
            last_update_at=Subquery(last.values("created_at")[:1]),
            last_update=Subquery(last.values("data")[:1]),
        )
        # The longest without an update first, so a backlog never starves anyone.
        .order_by(F("last_update_at").asc(nulls_first=True), "pk")[:batch_size]
    )


def _due(
    last: dict[str, Any] | None,
    last_at: datetime | None,
    interval_seconds: int,
    figures: dict[str, Any],
    now: datetime,
) -> bool:
    if last is None or last_at is None:
        return True
    if any(last.get(name) != figures[name] for name in FIGURES):
        return True
    return now - last_at >= timedelta(seconds=interval_seconds)


def queue_updates_emit(*, now: datetime | None = None, batch_size: int = 2000) -> QueueUpdateReport:
    """Record the queue updates due now (at most ``batch_size`` handovers per run)."""
    now = now or timezone.now()
    report = QueueUpdateReport()
    figures_by_endpoint: dict[int, dict[str, Any] | None] = {}
    for handover in _waiting(batch_size):
        endpoint = handover.endpoint
        if endpoint.pk not in figures_by_endpoint:
            try:
                figures_by_endpoint[endpoint.pk] = queue_figures(endpoint)
            except ProviderError as error:
                logger.warning("Queue updates: no figures for endpoint %s: %s", endpoint.pk, error)
                figures_by_endpoint[endpoint.pk] = None
        figures = figures_by_endpoint[endpoint.pk]
        if figures is None:
            report.unavailable += 1
            continue
        interval = endpoint.queue_update_seconds
        last = handover.last_update  # type: ignore[attr-defined]
        last_at = handover.last_update_at  # type: ignore[attr-defined]
        if _due(last, last_at, interval, figures, now) and _record(handover.pk, figures, now):
            report.emitted += 1
        else:
            report.unchanged += 1
    return report


def _record(handover_id: int, figures: dict[str, Any], now: datetime) -> bool:
    """Record the update under the handover's lock, if still due: two beats running at
    once never tell the user the same thing twice."""
    with transaction.atomic():
        handover = lock_handover(handover_id)
        # An agent may have joined since the read: the wait is over.
        if handover.status != HandoverStatus.QUEUED:
            return False
        last = handover.events.filter(kind=EventKind.QUEUE_UPDATE).order_by("-seq").first()
        if last is not None and not _due(
            last.data, last.created_at, handover.endpoint.queue_update_seconds, figures, now
        ):
            return False
        if record_event(handover, EventKind.QUEUE_UPDATE, figures) is None:
            return False
        handover.save(update_fields=["last_event_seq"])
    return True
