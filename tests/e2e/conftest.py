"""End to end: a real Celery worker on the machine's Redis, the relay process, the sandbox.

The worker and relay are subprocesses of this test session, started once, on the test
database (the tests here are transactional, so what they write is committed and seen by
the other processes) and on a Redis database of their own, flushed at the start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection
from kombu import pools

from handover_portal.celery import app
from tests.conftest import CALLBACK_ALLOWED_HOSTS

ROOT = Path(__file__).resolve().parents[2]
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


class Process:
    """A subprocess of the product (worker, relay) with its output in a log file.

    It can be started again after it stopped or was killed (same name, same log file).
    """

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.ready = ""  # what it logs once it is up (set by the stack that starts it)
        self._log_offset = 0  # where this run's output starts in the log file
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Process:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.starts += 1
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, nothing gets to clean up."""
        if self.alive():
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap_group()

    def _reap_group(self) -> None:
        """Children left in the process group (a worker's pool) get SIGKILL too."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def run_log(self) -> str:
        """The output of the current (last) run only."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def wait_until_logged(self, text: str, *, timeout: float = 90) -> Process:
        """Wait until this run says it is ready (a cold start can take a while)."""
        deadline = time.monotonic() + timeout
        while text not in self.run_log():
            if self.process is not None and self.process.poll() is not None:
                pytest.fail(f"{self.name} exited at start:\n{self.run_log()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} did not start in {timeout} s:\n{self.run_log()[-4000:]}")
            time.sleep(0.1)
        return self


WORKER_READY = " ready."
RELAY_READY = "Relay: running"

#: Every stack of this session, so that one can pause the others (they share the sandbox
#: and the test database: two relays would hold the same streams).
STACKS: list[Stack] = []


class Stack:
    """The worker(s), relay(s) and other product processes of one test session."""

    #: How a worker is started (the fault suite's plants a fault in it).
    worker_command: tuple[str, ...] = (sys.executable, "-m", "celery")

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.workers: list[Process] = []
        self.relays: list[Process] = []
        self.others: list[Process] = []  # a beat, a web server…
        STACKS.append(self)

    @property
    def relay(self) -> Process | None:
        return self.relays[0] if self.relays else None

    @property
    def processes(self) -> list[Process]:
        return [*self.workers, *self.relays, *self.others]

    def start_worker(
        self,
        name: str = "worker",
        concurrency: int = 2,
        env: dict[str, str] | None = None,
        *,
        wait: bool = True,
    ) -> Process:
        worker = Process(
            f"{name}-{len(self.workers)}",
            [
                *self.worker_command, "-A", "handover_portal", "worker",
                "--loglevel", "INFO", "--concurrency", str(concurrency), "--pool", "prefork",
                "--without-mingle", "--without-gossip",
                "--hostname", f"{name}{len(self.workers)}@%h",
            ],
            {**self.env, **(env or {})},
            self.log_dir,
        )  # fmt: skip
        self.workers.append(worker)
        return self._launch(worker, WORKER_READY, wait)

    def start_relay(self, name: str = "relay", *, wait: bool = True) -> Process:
        relay = Process(
            name if not self.relays else f"{name}-{len(self.relays)}",
            [sys.executable, "manage.py", "relay"],
            self.env,
            self.log_dir,
        )
        self.relays.append(relay)
        return self._launch(relay, RELAY_READY, wait)

    def start_other(self, name: str, args: list[str], ready: str, *, wait: bool = True) -> Process:
        """Any other long-running process of the product; ``ready`` is in its log when up."""
        process = Process(name, args, self.env, self.log_dir)
        self.others.append(process)
        return self._launch(process, ready, wait)

    @staticmethod
    def _launch(process: Process, ready: str, wait: bool) -> Process:
        process.ready = ready
        process.start()
        return process.wait_until_logged(ready) if wait else process

    def restart(self, process: Process) -> Process:
        """Start a stopped or killed process again and wait until it is ready."""
        process.kill()
        return process.start().wait_until_logged(process.ready)

    def ensure_running(self) -> None:
        """Start again the processes that were stopped (by another stack, a test), all at
        once, then wait until each is ready."""
        dead = [process for process in self.processes if not process.alive()]
        for process in dead:
            process.start()
        for process in dead:
            process.wait_until_logged(process.ready)

    def pause_others(self) -> None:
        """Stop the other stacks of the session; they start again when asked to ensure."""
        for stack in STACKS:
            if stack is not self:
                stack.stop()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def logs(self, tail: int = 2000) -> str:
        """The end of each process's output of its current run."""
        return "\n".join(
            f"--- {process.name} ---\n{process.run_log()[-tail:]}" for process in self.processes
        )


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
