"""End to end: a real Celery worker on the machine's Redis, the relay process, the sandbox.

The worker and relay are subprocesses of this test session, started once, on the test
database (the tests here are transactional, so what they write is committed and seen by
the other processes) and on a Redis database of their own, flushed at the start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.db import connection
from kombu import pools

from handover_portal.celery import app
from tests.conftest import CALLBACK_ALLOWED_HOSTS
from tests.processes import STACKS, Stack

REDIS_URL = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/15")

#: Fast retries and leases, so failure scenarios finish in seconds (two-thirds of the lease
#: still outlast one attempt and one wait, as the system checks require).
FAST = {
    "GENESYS_HTTP_BACKOFF_SECONDS": "0.01",
    "GENESYS_HTTP_BACKOFF_MAX_SECONDS": "0.05",
    "GENESYS_HTTP_MAX_ATTEMPTS": "3",
    "GENESYS_HTTP_CONNECT_TIMEOUT": "1",
    "GENESYS_HTTP_READ_TIMEOUT": "2",
    "GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS": "2",
    "RELAY_BACKOFF_SECONDS": "0.05",
    "RELAY_BACKOFF_MAX_SECONDS": "0.2",
    "RELAY_LEASE_SECONDS": "5",
    "CALLBACK_CONNECT_TIMEOUT": "1",
    "CALLBACK_READ_TIMEOUT": "2",
    "CALLBACK_BACKOFF_SECONDS": "0.05",
    "CALLBACK_BACKOFF_MAX_SECONDS": "0.2",
    "RELAY_POLL_SECONDS": "0.2",
    "GENESYS_TRANSFER_GRACE_SECONDS": "2.0",
    "RELAY_OWNERSHIP_LEASE_SECONDS": "2",
}


def database_url() -> str:
    """The test database, as a URL the subprocesses can use."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def use_broker(url: str) -> None:
    """Publish this process's tasks to ``url`` from now on (dropping pooled connections).

    kombu keeps its pools in global groups keyed by the broker URL: closing one pool would
    leave it there, closed, for the next test on the same URL ("Acquire on closed pool").
    ``pools.reset()`` closes every pool and empties the groups.
    """
    app.conf.broker_url = url
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="package")
def e2e_stack(
    django_db_setup: Any, django_db_blocker: Any, sandbox_server: Any, tmp_path_factory: Any
) -> Iterator[Stack]:
    """Redis broker, two worker processes and the relay, on the test database."""
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    with django_db_blocker.unblock():
        db_url = database_url()
    env = {
        **os.environ,
        **FAST,
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "GENESYS_API_BASE_URL": sandbox_server.url,
        # The callback receiver (the `channel` fixture) listens on 127.0.0.1.
        "CALLBACK_ALLOWED_HOSTS": ",".join(CALLBACK_ALLOWED_HOSTS),
        "GENESYS_API_BASE_URL_ALLOWED": "true",  # also when DEBUG is off (genesys.E002)
        "DJANGO_SETTINGS_MODULE": "handover_portal.settings",
        "PYTHONUNBUFFERED": "1",  # their logs show readiness as it happens
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    stack = Stack(env, tmp_path_factory.mktemp("e2e"))
    stack.pause_others()
    try:
        stack.start_worker()
        stack.start_relay()
        yield stack
    finally:
        stack.stop()
        STACKS.remove(stack)
        broker.flushdb()


@pytest.fixture
def e2e(e2e_stack: Stack, sandbox: Any, settings: Any) -> Iterator[Stack]:
    """A clean sandbox and this process configured like the worker, publishing to its
    broker for this test only (later tests' tasks must not reach the running workers)."""
    e2e_stack.pause_others()
    e2e_stack.ensure_running()
    settings.GENESYS_API_BASE_URL = sandbox.url
    for name, value in FAST.items():
        setattr(settings, name, float(value) if "." in value else int(value))
    use_broker(REDIS_URL)
    yield e2e_stack
    use_broker("memory://")


def sweep_until(check: Callable[[], Any], *, what: str, stack: Stack) -> Any:
    """Run the beat's expiry task, again each second, until ``check`` holds, as the beat
    does: a sweep skips a handover whose row another writer holds at that moment (``SKIP
    LOCKED``; the relay's ownership claim is one), and the next sweep takes it."""
    from endpoints.handovers import tasks

    def swept() -> Any:
        result = check()
        if not result:
            tasks.handovers_expire_task.delay()
        return result

    return wait_for(swept, what=what, stack=stack, interval=1.0)


def wait_for(
    check: Callable[[], Any],
    *,
    timeout: float = 20,
    what: str = "",
    stack: Stack | None = None,
    interval: float = 0.1,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the processes' logs."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            logs = stack.logs()[-6000:] if stack else ""
            pytest.fail(f"Timed out waiting for {what or check}.\n{logs}")
        time.sleep(interval)
