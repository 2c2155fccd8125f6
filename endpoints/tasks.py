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

from endpoints import callbacks, outbox
from endpoints.expiry import handovers_expire
from endpoints.models import EndReason, Handover, HandoverEvent, HandoverStatus, OutboundMessage
from endpoints.models.handover import DeliveryStatus, OutboxStatus
from endpoints.providers import ProviderNotConfigured
from endpoints.retries import backoff_seconds
from endpoints.services import handover_end, handover_mark_queued
from endpoints.transports import ConversationOver, PermanentFailure, TransportError

logger = logging.getLogger(__name__)

#: The longest a task waits (countdown) before it runs again; shorter than the broker's
#: visibility timeout, so Redis never redelivers a waiting task.
MAX_COUNTDOWN_SECONDS = 600


def _retry_delay(error: TransportError, retries: int) -> float:
    """The provider's ``Retry-After`` when it gave one, else the relay's backoff."""
    delay = error.retry_after or backoff_seconds(
        retries + 1, base=settings.RELAY_BACKOFF_SECONDS, cap=settings.RELAY_BACKOFF_MAX_SECONDS
    )
    return min(delay, MAX_COUNTDOWN_SECONDS)


def _again(task, handover_id: int, delay: float | None) -> None:
    if delay is not None:
        task.apply_async((handover_id,), countdown=min(max(delay, 0.0), MAX_COUNTDOWN_SECONDS))


@shared_task(acks_late=True, bind=True, max_retries=None)
def handover_start_task(self, handover_id: int) -> None:
    """Create the provider's conversation, then send the outbox (the transcript first)."""
    handover = Handover.objects.select_related("endpoint").filter(pk=handover_id).first()
    if handover is None or handover.status != HandoverStatus.STARTING:
        return
    try:
        handover.endpoint.get_provider().get_transport().start(handover)
    except (PermanentFailure, ConversationOver, ProviderNotConfigured) as error:
        handover_end(
            handover_id=handover_id, reason=EndReason.ERROR, detail=str(error), disconnect=False
        )
        return
    except TransportError as error:
        if self.request.retries + 1 >= settings.RELAY_MAX_ATTEMPTS:
            handover_end(handover_id=handover_id, reason=EndReason.ERROR, detail=str(error))
            return
        raise self.retry(countdown=_retry_delay(error, self.request.retries)) from None
    handover_mark_queued(handover_id)
    outbox_send_task.delay(handover_id)


@shared_task(acks_late=True)
def outbox_send_task(handover_id: int) -> None:
    """Send the handover's outbox in order (one worker per handover at a time)."""
    _again(outbox_send_task, handover_id, outbox.outbox_send(handover_id))
    # A message queued while another worker held the lease: that worker may have looked
    # before it was committed. Whoever finds it due now sends it.
    if outbox.has_due_messages(handover_id) and _sender_free(handover_id):
        outbox_send_task.delay(handover_id)


@shared_task(expires=10)
def handover_typing_task(handover_id: int) -> None:
    """Tell the agent the user is typing; a lost or failed indicator is not retried."""
    handover = Handover.objects.select_related("endpoint").filter(pk=handover_id).first()
    if handover is None or handover.status not in (HandoverStatus.QUEUED, HandoverStatus.ACTIVE):
        return
    try:
        handover.endpoint.get_provider().get_transport().send_typing(handover)
    except (TransportError, ProviderNotConfigured) as error:
        logger.info("Handover %s: typing indicator not sent: %s", handover_id, error)


@shared_task(acks_late=True)
def callbacks_deliver_task(handover_id: int) -> None:
    """POST the handover's events to the endpoint's callback URL, in order."""
    _again(callbacks_deliver_task, handover_id, callbacks.callbacks_deliver(handover_id))
    if callbacks.has_due_events(handover_id) and _callback_free(handover_id):
        callbacks_deliver_task.delay(handover_id)


@shared_task(acks_late=True, bind=True, max_retries=8)
def handover_disconnect_task(self, handover_id: int) -> None:
    """Leave the provider's conversation of an ended handover (already left = done)."""
    handover = Handover.objects.select_related("endpoint").filter(pk=handover_id).first()
    if handover is None:
        return
    try:
        handover.endpoint.get_provider().get_transport().end(handover)
    except (PermanentFailure, ConversationOver, ProviderNotConfigured) as error:
        logger.warning("Handover %s: could not leave the conversation: %s", handover_id, error)
    except TransportError as error:
        raise self.retry(countdown=_retry_delay(error, self.request.retries)) from None


@shared_task(acks_late=True)
def handovers_expire_task() -> None:
    """The beat: expiry warnings and expiries (batches; runs again while batches are full)."""
    report = handovers_expire()
    if report.warned or report.expired:
        logger.info("Expiry: %s warned, %s expired", report.warned, report.expired)
    if report.more:
        handovers_expire_task.delay()


@shared_task(acks_late=True)
def relay_sweep_task() -> None:
    """Re-enqueue work a lost task left: unsent outbox rows, undelivered events, unstarted
    handovers (a publish that failed after commit, a task lost with its worker).
    """
    now = timezone.now()
    batch = settings.RELAY_SWEEP_BATCH
    sender_free = Q(handover__sender_lease_until__isnull=True) | Q(
        handover__sender_lease_until__lt=now
    )
    unsent = (
        OutboundMessage.objects.filter(
            sender_free,
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING],
            handover__status__in=[HandoverStatus.QUEUED, HandoverStatus.ACTIVE],
        )
        .values_list("handover_id", flat=True)
        .distinct()[:batch]
    )
    for handover_id in unsent:
        outbox_send_task.delay(handover_id)
    callback_free = Q(handover__callback_lease_until__isnull=True) | Q(
        handover__callback_lease_until__lt=now
    )
    undelivered = (
        HandoverEvent.objects.filter(
            callback_free, delivery=DeliveryStatus.PENDING, next_delivery_at__lte=now
        )
        .values_list("handover_id", flat=True)
        .distinct()[:batch]
    )
    for handover_id in undelivered:
        callbacks_deliver_task.delay(handover_id)
    stale = now - timedelta(seconds=settings.RELAY_START_GRACE_SECONDS)
    unstarted = Handover.objects.filter(
        status=HandoverStatus.STARTING, started_at__lt=stale
    ).values_list("pk", flat=True)[:batch]
    for handover_id in unstarted:
        handover_start_task.delay(handover_id)


def _sender_free(handover_id: int) -> bool:
    return Handover.objects.filter(
        Q(sender_lease_until__isnull=True) | Q(sender_lease_until__lt=timezone.now()),
        pk=handover_id,
    ).exists()


def _callback_free(handover_id: int) -> bool:
    return Handover.objects.filter(
        Q(callback_lease_until__isnull=True) | Q(callback_lease_until__lt=timezone.now()),
        pk=handover_id,
    ).exists()
