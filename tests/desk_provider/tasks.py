"""The Test Desk's periodic task (``DeskProvider.periodic_tasks``): handovers whose desk
conversation has ended while no relay heard it end too."""

from __future__ import annotations

import logging

from celery import shared_task

from endpoints.handovers.services import handover_end
from endpoints.handovers.transports import TransportError
from endpoints.models import EndReason, Handover
from endpoints.models.handover import OPEN_STATUSES
from tests.desk_provider import client
from tests.desk_provider.providers import RECONCILE_TASK, DeskProvider
from tests.desk_provider.transport import conversation_id, desk_of

logger = logging.getLogger(__name__)


@shared_task(name=RECONCILE_TASK, acks_late=True)
def desk_reconcile_task() -> int:
    """Ask the desk about every open Test Desk handover; how many were ended."""
    ended = 0
    open_handovers = Handover.objects.filter(
        provider=DeskProvider.id, status__in=OPEN_STATUSES
    ).select_related("endpoint__desk_settings")
    for handover in open_handovers.iterator():
        try:
            answer = client.call(
                desk_of(handover),
                "GET",
                client.conversation_path(conversation_id(handover)),
                what="the conversation's state",
            )
        except client.NotFound:
            continue  # not created yet: the outbox is on it
        except TransportError as error:
            logger.info("Desk reconcile: handover %s not checked: %s", handover.pk, error)
            continue
        if answer.get("state") == "ended":
            ended += handover_end(
                handover_id=handover.pk, reason=EndReason.AGENT_LEFT, disconnect=False
            )
    return ended
