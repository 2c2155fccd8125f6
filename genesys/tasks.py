"""Celery tasks of Genesys Open Messaging: what its webhooks hand over (ids and the
payload Genesys signed; never a secret)."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from endpoints.models import EndReason, HandoverStatus
from endpoints.services import handover_end
from genesys.models import OpenMessagingConversation

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def om_webhook_task(settings_id: int, payload: dict[str, Any]) -> str:
    """Record an agent message or event from the Open Messaging webhook (deduplicated by
    Genesys message id, so Genesys's retries and a redelivered task are harmless)."""
    from genesys.om_transport import record_webhook_message

    outcome = record_webhook_message(settings_id, payload)
    logger.info("Open Messaging webhook of settings %s: %s", settings_id, outcome)
    return outcome


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
