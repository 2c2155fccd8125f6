"""Handing work to the Celery workers, by task name, once the transaction commits.

The services and the outbox queue work; the task modules call the services. Publishing by
registered name keeps the dependency one way: this module imports no task module.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction

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
