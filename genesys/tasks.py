"""Celery tasks of Genesys Open Messaging: what its webhooks hand over (ids and the
payload Genesys signed; never a secret)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from endpoints.models import EndReason, HandoverStatus
from endpoints.services import handover_end
from genesys.models import OpenMessagingConversation, OpenMessagingInbox, OpenMessagingSettings

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


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def om_webhook_task(settings_id: int) -> int:
    """Record the endpoint's waiting webhook calls in arrival order; how many were recorded.

    The settings row is locked meanwhile (``lock_inbox``), so one worker at a time records
    an endpoint's calls and agent messages keep their order; events are deduplicated by
    Genesys message id, so Genesys's retries and a redelivered task are harmless.
    """
    from genesys.om_transport import record_webhook_message

    with transaction.atomic():
        if not lock_inbox(settings_id):
            return 0
        calls = list(OpenMessagingInbox.objects.filter(settings_id=settings_id)[:INBOX_BATCH])
        for call in calls:
            outcome = record_webhook_message(settings_id, call.payload)
            logger.info(
                "Open Messaging webhook %s of settings %s: %s", call.pk, settings_id, outcome
            )
        OpenMessagingInbox.objects.filter(pk__in=[call.pk for call in calls]).delete()
    if len(calls) == INBOX_BATCH:
        om_webhook_task.delay(settings_id)
    return len(calls)


@shared_task(acks_late=True)
def om_inbox_sweep_task() -> None:
    """Hand waiting webhook calls a lost task left to a worker (the beat runs this): one
    task per endpoint; dead letters wait for a replay."""
    stale = timezone.now() - timedelta(seconds=30)
    waiting = (
        OpenMessagingInbox.objects.filter(received_at__lt=stale, dead_at__isnull=True)
        .order_by()  # Meta.ordering would make DISTINCT one row per call
        .values_list("settings_id", flat=True)
        .distinct()
    )
    for settings_id in waiting:
        om_webhook_task.delay(settings_id)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def om_end_task(settings_id: int, conversation_id: str) -> bool:
    """The end webhook: end the open handover of ``conversation_id`` as ``agent_left``."""
    conversation = (
        OpenMessagingConversation.objects.filter(
            conversation_id=conversation_id,
            handover__endpoint__genesys_om_settings__pk=settings_id,
        )
        .exclude(handover__status=HandoverStatus.ENDED)
        .first()
    )
    if conversation is None:
        return False
    return handover_end(
        handover_id=conversation.handover_id, reason=EndReason.AGENT_LEFT, disconnect=False
    )
