"""Handing work to the Celery workers, by task name, once the transaction commits.

The services and the outbox queue work; the task modules call the services. Publishing by
registered name keeps the dependency one way: this module imports no task module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.conf import settings
from django.db import transaction

if TYPE_CHECKING:
    from endpoints.models import Handover

# The registered names (``endpoints.handovers.tasks``); queued messages carry them.
OUTBOX_SEND = "endpoints.tasks.outbox_send_task"
TYPING = "endpoints.tasks.handover_typing_task"
CALLBACKS_DELIVER = "endpoints.tasks.callbacks_deliver_task"


def enqueue_after_commit(task_name: str, *args: Any) -> None:
    """Hand work to a worker once the transaction commits, without failing the caller.

    What is committed is already safe in the database (the outbox, the events): if the
    broker cannot take the task now, the sweeper enqueues it later, so a broker outage is
    logged and the caller (an API request) still gets its answer.
    """

    def publish() -> None:
        current_app.tasks[task_name].delay(*args)

    transaction.on_commit(publish, robust=True)


def outbox_enqueue(handover: Handover, *, now: datetime) -> list[str]:
    """Within the transaction that holds the handover's row lock and adds outbox work: make
    sure a sender task runs once it commits; the fields changed, for the caller's save.

    One publish per burst: while a task published earlier is queued and not started
    (``sender_queued_until`` in the future) it will find this work, because its claim
    clears the mark under the same row lock (``leases.claim``), so only after this commits.
    Otherwise this publishes one and sets the mark for ``RELAY_SWEEP_GRACE_SECONDS``, the
    time after which the sweeper takes a task for lost; a publish that fails clears it.
    """
    queued = handover.sender_queued_until
    if queued is not None and queued > now:
        return []
    until = now + timedelta(seconds=settings.RELAY_SWEEP_GRACE_SECONDS)
    handover.sender_queued_until = until

    def publish() -> None:
        try:
            current_app.tasks[OUTBOX_SEND].delay(handover.pk)
        except Exception:
            # No task is queued: the next message publishes again (the sweeper meanwhile).
            type(handover).objects.filter(pk=handover.pk, sender_queued_until=until).update(
                sender_queued_until=None
            )
            raise

    transaction.on_commit(publish, robust=True)
    return ["sender_queued_until"]
