"""A batch's per-handover tasks: one publish after commit, the rest by a worker."""

from __future__ import annotations

import pytest

from endpoints.handovers import enqueue, tasks
from tests.broker import published

pytestmark = pytest.mark.django_db


def test_one_handovers_task_is_published_as_it_is(django_capture_on_commit_callbacks):
    published()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue.enqueue_each_after_commit(enqueue.OUTBOX_SEND, [7])
    assert published() == [(enqueue.OUTBOX_SEND, [7])]


def test_a_batch_costs_one_publish_and_a_worker_publishes_each(
    django_capture_on_commit_callbacks,
):
    published()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue.enqueue_each_after_commit(enqueue.CALLBACKS_DELIVER, [9, 3, 9, 5])
        enqueue.enqueue_each_after_commit(enqueue.CALLBACKS_DELIVER, [])
    assert len(callbacks) == 1
    assert published() == [(enqueue.PUBLISH_EACH, [enqueue.CALLBACKS_DELIVER, [3, 5, 9]])]
    tasks.publish_each_task.run(enqueue.CALLBACKS_DELIVER, [3, 5, 9])
    assert published() == [(enqueue.CALLBACKS_DELIVER, [pk]) for pk in (3, 5, 9)]


@pytest.mark.parametrize("task_name", [enqueue.TYPING, "celery.backend_cleanup", "os.system"])
def test_only_per_handover_tasks_are_published_for_a_batch(task_name):
    with pytest.raises(ValueError, match="not a per-handover task"):
        enqueue.enqueue_each_after_commit(task_name, [1, 2])
    with pytest.raises(ValueError, match="not a per-handover task"):
        tasks.publish_each_task.run(task_name, [1, 2])
    assert published() == []
