"""Celery tasks of the relay. They take ids, call a service, and schedule themselves again
when a service says when; the periodic sweeper re-enqueues whatever a lost task left.

Every task is safe to run twice (``acks_late``): the services check state under row
locks and leases, and the outbox asks the provider before resending an unknown outcome.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from endpoints.handovers import callbacks, enqueue, leases, outbox
from endpoints.handovers.expiry import handovers_expire
from endpoints.handovers.queue_updates import queue_updates_emit
from endpoints.handovers.transports import TransportError
from endpoints.models import Handover, HandoverEvent, HandoverStatus, OutboundMessage
from endpoints.models.handover import DeliveryStatus
from endpoints.providers import ProviderNotConfigured

logger = logging.getLogger(__name__)

#: The longest a task waits (countdown) before it runs again; shorter than the broker's
#: visibility timeout, so Redis never redelivers a waiting task.
MAX_COUNTDOWN_SECONDS = 600


def _again(task, handover_id: int, delay: float | None) -> None:
    if delay is not None:
        task.apply_async((handover_id,), countdown=min(max(delay, 0.0), MAX_COUNTDOWN_SECONDS))


# Each task keeps the name it had before its module moved: queued messages carry it.
@shared_task(name=enqueue.OUTBOX_SEND, acks_late=True)
def outbox_send_task(handover_id: int) -> None:
    """Do the handover's provider work in order: its start, its messages, its disconnect
    (one worker per handover at a time)."""
    _again(outbox_send_task, handover_id, outbox.outbox_send(handover_id))
    # A row queued while another worker held the lease: that worker may have looked
    # before it was committed. Whoever finds it due now does it.
    if outbox.has_due_messages(handover_id):
        outbox_send_task.delay(handover_id)


@shared_task(name="endpoints.tasks.handover_start_task", acks_late=True)
def handover_start_task(handover_id: int) -> None:
    """Kept for tasks queued before the start became an outbox row: the same work."""
    outbox_send_task(handover_id)


@shared_task(name="endpoints.tasks.handover_disconnect_task", acks_late=True)
def handover_disconnect_task(handover_id: int) -> None:
    """Kept for tasks queued before the disconnect became an outbox row: the same work."""
    outbox_send_task(handover_id)


@shared_task(name=enqueue.TYPING, expires=10)
def handover_typing_task(handover_id: int) -> None:
    """Tell the agent the user is typing; a lost or failed indicator is not retried."""
    handover = Handover.objects.filter(pk=handover_id).first()
    if handover is None or handover.status not in (HandoverStatus.QUEUED, HandoverStatus.ACTIVE):
        return
    try:
        outbox.transport_for(handover).send_typing(handover)
    except (TransportError, ProviderNotConfigured) as error:
        logger.info("Handover %s: typing indicator not sent: %s", handover_id, error)
    except Exception as error:  # best effort; logged by type only (secrets)
        logger.info(
            "Handover %s: typing indicator not sent (%s)", handover_id, type(error).__name__
        )


@shared_task(name=enqueue.CALLBACKS_DELIVER, acks_late=True)
def callbacks_deliver_task(handover_id: int) -> None:
    """POST the handover's events to the endpoint's callback URL, in order."""
    _again(callbacks_deliver_task, handover_id, callbacks.callbacks_deliver(handover_id))
    if callbacks.has_due_events(handover_id):
        callbacks_deliver_task.delay(handover_id)


@shared_task(name="endpoints.tasks.handovers_expire_task", acks_late=True)
def handovers_expire_task() -> None:
    """The beat: expiry warnings and expiries (batches; runs again while batches are full)."""
    report = handovers_expire()
    if report.warned or report.expired:
        logger.info("Expiry: %s warned, %s expired", report.warned, report.expired)
    if report.more:
        handovers_expire_task.delay()


@shared_task(name="endpoints.tasks.queue_updates_task", acks_late=True)
def queue_updates_task() -> None:
    """The beat: queue updates to the users waiting for an agent."""
    report = queue_updates_emit()
    if report.emitted:
        logger.info("Queue updates: %s sent, %s unchanged", report.emitted, report.unchanged)


def outbox_due_handovers(limit: int) -> list[int]:
    """Handovers with provider work due and nobody on it: the sweeper's outbox half.

    A row never attempted gets ``RELAY_SWEEP_GRACE_SECONDS`` (its task is on its way);
    a row waiting for its retry is left to the task that scheduled it.
    """
    now = timezone.now()
    fresh = Q(
        attempts=0, created_at__gt=now - timedelta(seconds=settings.RELAY_SWEEP_GRACE_SECONDS)
    )
    rows = (
        OutboundMessage.objects.filter(
            leases.free(leases.SENDER, prefix="handover__"),
            outbox.due_by_status(),
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            status__in=outbox.UNSENT,
        )
        .exclude(fresh)
        .order_by()  # Meta.ordering would defeat distinct()
        .values_list("handover_id", flat=True)
        .distinct()
    )
    return list(rows[:limit])


def callback_due_handovers(limit: int) -> list[int]:
    """Handovers with callback deliveries due and nobody on them."""
    rows = (
        HandoverEvent.objects.filter(
            leases.free(leases.CALLBACK, prefix="handover__"),
            delivery=DeliveryStatus.PENDING,
            next_delivery_at__lte=timezone.now(),
        )
        .order_by()  # Meta.ordering would defeat distinct()
        .values_list("handover_id", flat=True)
        .distinct()
    )
    return list(rows[:limit])


@shared_task(name="endpoints.tasks.relay_sweep_task", acks_late=True)
def relay_sweep_task() -> None:
    """Re-enqueue work a lost task left: provider work (starts, messages, disconnects) and
    undelivered events (a publish that failed after commit, a task lost with its worker).
    Work whose lease is live is skipped: its worker is on it.
    """
    batch = settings.RELAY_SWEEP_BATCH
    for handover_id in outbox_due_handovers(batch):
        outbox_send_task.delay(handover_id)
    for handover_id in callback_due_handovers(batch):
        callbacks_deliver_task.delay(handover_id)
