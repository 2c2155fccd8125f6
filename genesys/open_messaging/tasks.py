"""Celery tasks of Genesys Open Messaging: what its webhooks hand over (ids and the
payload Genesys signed; never a secret)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from endpoints.backoff import backoff_seconds
from genesys.models import (
    LAST_ERROR_MAX_LENGTH,
    OpenMessagingInbox,
    OpenMessagingSettings,
)

logger = logging.getLogger(__name__)


#: Webhook calls recorded per task run; more are left to the next run.
INBOX_BATCH = 200


def lock_inbox(settings_id: int) -> bool:
    """Lock the endpoint's settings row until the transaction ends (one worker at a time
    records its inbox); ``False`` if the endpoint is gone.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: a webhook's inbox ``INSERT`` checks its
    foreign key with ``FOR KEY SHARE``, which ``FOR UPDATE`` would make wait for the whole
    batch; two workers still exclude each other. (SQLite has no row locks: a no-op.)
    """
    return (
        OpenMessagingSettings.objects.select_for_update(no_key=True).filter(pk=settings_id).exists()
    )


#: Runs of ``om_webhook_task`` after the first when the run as a whole fails.
TASK_MAX_RETRIES = 5


# Each task keeps the name it had before its module moved: queued messages carry it.
@shared_task(
    name="genesys.tasks.om_webhook_task", acks_late=True, bind=True, max_retries=TASK_MAX_RETRIES
)
def om_webhook_task(self: Task, settings_id: int) -> int:
    """Record the endpoint's waiting webhook calls (``record_inbox``); how many were done.

    A run that fails as a whole (the database or the broker away: a failing call is
    counted by ``record_inbox`` and does not fail the run) runs again up to
    ``TASK_MAX_RETRIES`` times, after the relay's backoff (``RELAY_BACKOFF_SECONDS``,
    ``RELAY_BACKOFF_MAX_SECONDS``; the n-th retry waits backoff(n)); the sweeper hands over
    whatever is still waiting after that.
    """
    try:
        return record_inbox(settings_id)
    except Exception as error:
        countdown = backoff_seconds(
            self.request.retries + 1,
            base=settings.RELAY_BACKOFF_SECONDS,
            cap=settings.RELAY_BACKOFF_MAX_SECONDS,
        )
        raise self.retry(exc=error, countdown=countdown) from error


def record_inbox(settings_id: int) -> int:
    """Record the endpoint's waiting webhook calls in arrival order; how many were done
    (recorded, or dead-lettered).

    The settings row is locked meanwhile (``lock_inbox``), so one worker at a time records
    an endpoint's calls and agent messages keep their order; events are deduplicated by
    Genesys message id, so Genesys's retries and a redelivered task are harmless.

    Each call is recorded in its own savepoint. One that fails is rolled back alone,
    counted (``attempts``, ``last_error``) and left for the next run (the next webhook's or
    the sweeper's); since order matters, the endpoint's later calls wait behind it until
    it succeeds or, after ``GENESYS_INBOX_MAX_ATTEMPTS`` failures, is dead-lettered: kept
    for the admin (Replay), skipped from then on, and the later calls go on.
    """
    from genesys.open_messaging.transport import record_webhook_message

    done = 0
    with transaction.atomic():
        if not lock_inbox(settings_id):
            return 0
        calls = list(
            OpenMessagingInbox.objects.filter(settings_id=settings_id, dead_at__isnull=True)[
                :INBOX_BATCH
            ]
        )
        for call in calls:
            call_id = call.pk
            wait = _wait_seconds(call)
            if wait:
                # It blocks the calls after it: the whole inbox waits for its next attempt.
                om_webhook_task.apply_async((settings_id,), countdown=wait)
                break
            try:
                with transaction.atomic():
                    outcome = record_webhook_message(settings_id, call.payload)
                    OpenMessagingInbox.objects.filter(pk=call_id).delete()
            except SoftTimeLimitExceeded:
                raise  # the batch's time is up, not the call's fault: all of it runs again
            except Exception as error:  # whatever a payload makes fail is counted, not fatal
                if not _failed(call, error):
                    # It blocks the calls after it until it is dead: try again after its
                    # backoff (the webhooks and the sweep may call sooner; they wait too).
                    om_webhook_task.apply_async((settings_id,), countdown=_wait_seconds(call))
                    break
            else:
                logger.info(
                    "Open Messaging webhook %s of settings %s: %s", call_id, settings_id, outcome
                )
            done += 1
    if done == INBOX_BATCH:
        om_webhook_task.delay(settings_id)
    return done


def _wait_seconds(call: OpenMessagingInbox) -> float:
    if call.next_attempt_at is None:
        return 0.0
    return max(0.0, (call.next_attempt_at - timezone.now()).total_seconds())


def _failed(call: OpenMessagingInbox, error: Exception) -> bool:
    """Count a failed attempt at ``call``; whether it is now a dead letter.

    The next attempt waits for the relay's backoff, so a burst of webhooks behind a call
    that fails for a moment (a deadlock, a restart) does not use up its attempts at once.
    """
    call.attempts += 1
    call.next_attempt_at = timezone.now() + timedelta(
        seconds=backoff_seconds(
            call.attempts,
            base=settings.RELAY_BACKOFF_SECONDS,
            cap=settings.RELAY_BACKOFF_MAX_SECONDS,
        )
    )
    # The type and message only (what the payload made fail; never a secret), storable.
    text = f"{type(error).__name__}: {error}".replace("\x00", "")
    call.last_error = text[:LAST_ERROR_MAX_LENGTH]
    dead = call.attempts >= settings.GENESYS_INBOX_MAX_ATTEMPTS
    if dead:
        call.dead_at = timezone.now()
    call.save(update_fields=["attempts", "last_error", "dead_at", "next_attempt_at"])
    logger.log(
        logging.ERROR if dead else logging.WARNING,
        "Open Messaging webhook %s of settings %s failed (attempt %s)%s",
        call.pk,
        call.settings_id,
        call.attempts,
        ": dead-lettered" if dead else "",
        exc_info=error,
    )
    return dead


@shared_task(name="genesys.tasks.om_inbox_sweep_task", acks_late=True)
def om_inbox_sweep_task() -> None:
    """Hand waiting webhook calls a lost task left to a worker (the beat runs this): one
    task per endpoint; dead letters wait for a replay."""
    stale = timezone.now() - timedelta(seconds=30)
    waiting = (
        OpenMessagingInbox.objects.filter(received_at__lt=stale, dead_at__isnull=True)
        .exclude(next_attempt_at__gt=timezone.now())
        .order_by()  # Meta.ordering would make DISTINCT one row per call
        .values_list("settings_id", flat=True)
        .distinct()
    )
    for settings_id in waiting:
        om_webhook_task.delay(settings_id)


@shared_task(name="genesys.tasks.om_end_task", acks_late=True)
def om_end_task(settings_id: int, conversation_id: str) -> bool:
    """Kept for tasks queued before the end webhook did the work itself: the same work."""
    from genesys.open_messaging.transport import end_conversation

    return end_conversation(settings_id, conversation_id)
