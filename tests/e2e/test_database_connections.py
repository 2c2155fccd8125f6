"""A real Celery worker keeps its PostgreSQL connection between tasks, and gets a new one
when PostgreSQL drops it (``pg_terminate_backend``): the health check before the next
task's first query finds it dead, so no task fails (``handover_portal.database``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from handover_portal.celery import app
from tests.e2e.conftest import REDIS_URL, database_url, use_broker, wait_for
from tests.processes import STACKS, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

#: The worker's connections, told apart from everyone else's in ``pg_stat_activity``.
APPLICATION = "hp-e2e-connection-reuse"
CLEAR_SESSIONS = "endpoints.retention.sessions_clear_task"


@pytest.fixture(scope="module")
def worker(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Stack]:
    """One worker process (one pool process) with the product's default connection
    settings, on the test database and the end-to-end broker."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.skip("pg_terminate_backend needs PostgreSQL")
        url = database_url()
    env = {
        **os.environ,
        "DATABASE_URL": f"{url}?application_name={APPLICATION}",
        "CELERY_BROKER_URL": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "handover_portal.settings",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("DATABASE_CONN_MAX_AGE", "DATABASE_CONN_HEALTH_CHECKS"):
        env.pop(name, None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    stack = Stack(env, tmp_path_factory.mktemp("db-connections"))
    stack.pause_others()
    try:
        stack.start_worker("dbworker", concurrency=1)
        yield stack
    finally:
        stack.stop()
        STACKS.remove(stack)


@pytest.fixture
def broker(worker: Stack) -> Iterator[Stack]:
    worker.pause_others()
    worker.ensure_running()
    use_broker(REDIS_URL)
    yield worker
    use_broker("memory://")


def worker_backends() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APPLICATION]
        )
        return {pid for (pid,) in cursor.fetchall()}


def run_a_task(stack: Stack) -> None:
    """An expired session for the task to delete, the task, and its effect."""
    session = Session.objects.create(
        session_key=os.urandom(16).hex(),
        session_data="",
        expire_date=timezone.now() - timedelta(days=1),
    )
    app.send_task(CLEAR_SESSIONS)
    wait_for(
        lambda: not Session.objects.filter(pk=session.pk).exists(),
        what="the worker to clear the expired session",
        stack=stack,
    )


def test_the_worker_keeps_its_connection_between_tasks(broker: Stack):
    run_a_task(broker)
    first = wait_for(worker_backends, what="the worker's connection", stack=broker)

    run_a_task(broker)
    run_a_task(broker)

    # Celery's fixup alone closes it after every task: a new backend each time, none left.
    assert worker_backends() == first
    assert len(first) == 1


def test_a_terminated_connection_is_replaced_without_failing_a_task(broker: Stack):
    run_a_task(broker)
    before = wait_for(worker_backends, what="the worker's connection", stack=broker)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [APPLICATION],
        )
    wait_for(lambda: not worker_backends(), what="PostgreSQL to drop it", stack=broker)
    failures_before = broker.workers[0].run_log().count("raised unexpected")

    run_a_task(broker)  # without the health check, this task fails on the dead connection

    after = worker_backends()
    assert after
    assert after.isdisjoint(before)
    log = broker.workers[0].run_log()
    assert log.count("raised unexpected") == failures_before
    assert "terminating connection" not in log
