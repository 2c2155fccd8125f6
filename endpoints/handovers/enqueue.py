"""Handing work to the Celery workers, by task name, once the transaction commits.

The services and the outbox queue work; the task modules call the services. Publishing by
registered name keeps the dependency one way: this module imports no task module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import current_app
from django.db import transaction

# The registered names (``endpoints.handovers.tasks``); queued messages carry them.
OUTBOX_SEND = "endpoints.tasks.outbox_send_task"
TYPING = "endpoints.tasks.handover_typing_task"
CALLBACKS_DELIVER = "endpoints.tasks.callbacks_deliver_task"
PUBLISH_EACH = "endpoints.tasks.publish_each_task"

#: The per-handover tasks ``publish_each`` publishes: a name read from a message is checked
#: against these, never trusted.
PER_HANDOVER = frozenset({OUTBOX_SEND, CALLBACKS_DELIVER})


def enqueue_after_commit(task_name: str, *args: Any) -> None:
    """Hand work to a worker once the transaction commits, without failing the caller.

    What is committed is already safe in the database (the outbox, the events): if the
    broker cannot take the task now, the sweeper enqueues it later, so a broker outage is
    logged and the caller (an API request) still gets its answer.
    """

    def publish() -> None:
        current_app.tasks[task_name].delay(*args)

    transaction.on_commit(publish, robust=True)


def enqueue_each_after_commit(task_name: str, handover_ids: Iterable[int]) -> None:
    """``task_name`` once per handover, once the transaction commits.

    One handover's task is published here; a batch's are published by a worker
    (``publish_each``), so a batch costs its caller one publish instead of one per handover
    (Celery's publish takes about half a millisecond of CPU: 1,000 of them were most of the
    expiry's budget). Failures are the sweeper's, as for ``enqueue_after_commit``.
    """
    if task_name not in PER_HANDOVER:
        raise ValueError(f"{task_name} is not a per-handover task")
    ids = sorted(set(handover_ids))
    if len(ids) == 1:
        enqueue_after_commit(task_name, ids[0])
    elif ids:
        enqueue_after_commit(PUBLISH_EACH, task_name, ids)


def publish_each(task_name: str, handover_ids: list[int]) -> None:
    """Publish ``task_name`` for each handover, over one broker connection (a worker's half
    of ``enqueue_each_after_commit``). Publishing them twice is harmless: every
    per-handover task holds its handover's lease."""
    if task_name not in PER_HANDOVER:
        raise ValueError(f"{task_name} is not a per-handover task")
    task = current_app.tasks[task_name]
    with current_app.producer_or_acquire() as producer:
        for handover_id in handover_ids:
            task.apply_async((handover_id,), producer=producer)
