"""The fault suite's harness: the whole product as processes, and ways to break them.

One stack per session (``fault_stack``), on the test database, started once:

- a Redis broker of its own on a free port (stopped with ``redis-cli shutdown nosave`` and
  started again on the same port by ``broker_outage``) and a second Redis as the shared
  cache (tokens, throttles), which stays up: an outage of the broker is what is tested;
- two Celery workers (killable with ``kill -9`` and restartable), the beat (the relay's
  sweeper every second: it is what recovers work a crash left), the relay process
  ``relay`` and gunicorn serving the REST API and the Open Messaging webhooks;
- the session's sandbox (``sandbox_server``) as Genesys.

``faults`` (per test) resets the sandbox, flushes the cache and checks every process is up
(starting again whatever a previous scenario left down). ``figures`` records what the
scenario measured; ``pytest_terminal_summary`` prints it at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from django.core.cache import cache

from tests.conftest import CALLBACK_ALLOWED_HOSTS, CLIENT_ID
from tests.e2e.conftest import FAST, database_url, use_broker, wait_for
from tests.factories import CLIENT_SECRET
from tests.faults.figures import RECORDED, Figures, summary_lines
from tests.faults.sizes import SIZE
from tests.processes import Process, Stack
from tests.sandbox import free_port

#: The product's settings in the fault stack (and in this process): FAST's quick retries,
#: plus a sweeper every second, a short sweep grace, a lease of 7 s (two-thirds of it just
#: outlast one attempt: connect 1 s + read 3 s, as the system checks require) and callback
#: and relay backoffs whose give-up windows are a few seconds (the README's "Fault suite").
FAULT_SETTINGS = {
    **FAST,
    "GENESYS_HTTP_READ_TIMEOUT": "3",  # longer than the slow-response faults
    "GENESYS_HTTP_MAX_ATTEMPTS": "5",  # one send of five slow 429s outlasts the lease
    "RELAY_BACKOFF_SECONDS": "0.2",
    "RELAY_BACKOFF_MAX_SECONDS": "1.0",
    "RELAY_MAX_ATTEMPTS": "20",  # a message is given up after 8.7 to 17.4 s of failures
    "RELAY_LEASE_SECONDS": "7",
    "RELAY_SWEEP_GRACE_SECONDS": "2",
    "RELAY_SWEEP_INTERVAL_SECONDS": "1",
    "HANDOVER_EXPIRY_INTERVAL_SECONDS": "3600",  # scenario 8 runs the expiry itself
    "CALLBACK_MAX_ATTEMPTS": "10",
    "CALLBACK_BACKOFF_SECONDS": "0.25",
    "CALLBACK_BACKOFF_MAX_SECONDS": "1.5",  # 10 attempts: given up after 5.4 to 10.75 s
    "CALLBACK_CONNECT_TIMEOUT": "1",
    "CALLBACK_READ_TIMEOUT": "2",
}

WEB_READY = "Booting worker"
BEAT_READY = "beat: Starting"


def _setting(value: str) -> float | int:
    return float(value) if "." in value else int(value)


class RedisServer:
    """A redis-server process of this session on a free port, restartable on that port."""

    def __init__(self, name: str, log_dir: Path) -> None:
        self.port = free_port()
        self.process = Process(
            name,
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(log_dir),
            ],
            dict(os.environ),
            log_dir,
        )  # fmt: skip
        self.stops = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> RedisServer:
        self.process.start()
        wait_for(self.answers, timeout=10, what=f"{self.process.name} to answer")
        return self

    def shutdown(self) -> None:
        """``redis-cli shutdown nosave``: everything in it is gone (queued tasks too)."""
        if not self.process.alive():
            return
        self.stops += 1
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        assert self.process.process is not None
        try:
            self.process.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class FaultStack(Stack):
    """The processes of the fault suite; see the module's docstring."""

    #: Workers with the poison of scenario 7 planted (``tests/faults/worker.py``).
    worker_command = (sys.executable, "-m", "tests.faults.worker")

    def __init__(
        self, env: dict[str, str], log_dir: Path, broker: RedisServer, cache: RedisServer
    ) -> None:
        super().__init__(env, log_dir)
        self.broker = broker
        self.cache = cache
        self.web_port = free_port()

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start_all(self) -> None:
        """Two workers, the beat, the relay and gunicorn, started at once."""
        started = [
            self.start_worker("worker", wait=False),
            self.start_worker("worker", wait=False),
            self.start_other(
                "beat",
                [
                    sys.executable, "-m", "celery", "-A", "handover_portal", "beat",
                    "--loglevel", "INFO", "--schedule", str(self.log_dir / "celerybeat-schedule"),
                ],
                BEAT_READY,
                wait=False,
            ),
            self.start_relay(wait=False),
            self.start_other(
                "web",
                [
                    sys.executable, "-m", "gunicorn", "handover_portal.wsgi",
                    "--bind", f"127.0.0.1:{self.web_port}", "--workers", "2",
                    "--timeout", "60", "--graceful-timeout", "5",
                ],
                WEB_READY,
                wait=False,
            ),
        ]  # fmt: skip
        for process in started:
            process.wait_until_logged(process.ready)
        self.wait_for_web()

    def web_answers(self) -> bool:
        try:
            return requests.get(f"{self.web_url}/api/v1/", timeout=2).status_code < 500
        except requests.RequestException:
            return False

    def wait_for_web(self) -> None:
        wait_for(self.web_answers, timeout=30, what="gunicorn to answer", stack=self)

    def ensure_running(self) -> None:
        for server in (self.broker, self.cache):
            if not server.answers():
                server.process.kill()
                server.start()
        web_was_down = not all(p.alive() for p in self.others)
        super().ensure_running()
        if web_was_down:
            self.wait_for_web()

    def log_marks(self) -> dict[str, int]:
        """Where each process's log ends now (to count what a scenario made them say)."""
        return {
            p.name: p.log_path.stat().st_size if p.log_path.exists() else 0 for p in self.processes
        }

    def count_logged(self, text: str, since: dict[str, int]) -> int:
        """How often the processes logged ``text`` since ``log_marks()`` (across restarts)."""
        count = 0
        for process in self.processes:
            if process.log_path.exists():
                with process.log_path.open("rb") as log:
                    log.seek(since.get(process.name, 0))
                    count += log.read().decode(errors="replace").count(text)
        return count

    @contextlib.contextmanager
    def broker_outage(self) -> Iterator[None]:
        """The broker is down inside the block, and started again (empty) on leaving it."""
        self.broker.shutdown()
        try:
            yield
        finally:
            self.broker.start()

    def stop(self) -> None:
        super().stop()
        for server in (self.broker, self.cache):
            server.process.stop()


@pytest.fixture(scope="package")
def fault_stack(
    django_db_setup: Any, django_db_blocker: Any, sandbox_server: Any, tmp_path_factory: Any
) -> Iterator[FaultStack]:
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"The fault suite needs {' and '.join(missing)} on the PATH.")
    log_dir = tmp_path_factory.mktemp("faults")
    broker = RedisServer("redis-broker", log_dir)
    cache_server = RedisServer("redis-cache", log_dir)
    with django_db_blocker.unblock():
        db_url = database_url()
    env = {
        **os.environ,
        **FAULT_SETTINGS,
        "DATABASE_URL": db_url,
        "CELERY_BROKER_URL": broker.url(0),
        "CACHE_URL": cache_server.url(0),
        "GENESYS_API_BASE_URL": sandbox_server.url,
        # The callback receiver (the `channel` fixture) listens on 127.0.0.1.
        "CALLBACK_ALLOWED_HOSTS": ",".join(CALLBACK_ALLOWED_HOSTS),
        "GENESYS_API_BASE_URL_ALLOWED": "true",  # also when DEBUG is off (genesys.E002)
        "DJANGO_SETTINGS_MODULE": "handover_portal.settings",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    stack = FaultStack(env, log_dir, broker, cache_server)
    try:
        stack.pause_others()
        broker.start()
        cache_server.start()
        use_broker(broker.url(0))
        stack.start_all()
        yield stack
    finally:
        stack.stop()
        use_broker("memory://")


@pytest.fixture
def faults(fault_stack: FaultStack, sandbox: Any, settings: Any) -> Iterator[FaultStack]:
    """The fault stack, every process up, on a clean sandbox and cache; this process
    configured like the stack and publishing to its broker."""
    fault_stack.pause_others()
    fault_stack.ensure_running()
    use_broker(fault_stack.broker.url(0))
    fault_stack.cache.client().flushdb()
    cache.clear()
    settings.GENESYS_API_BASE_URL = sandbox.url
    for name, value in FAULT_SETTINGS.items():
        setattr(settings, name, _setting(value))
    sandbox.put_client(CLIENT_ID, client_secret=CLIENT_SECRET)
    yield fault_stack
    sandbox.clear_faults()  # slow requests of the scenario end now


@pytest.fixture
def figures(request: pytest.FixtureRequest, sandbox: Any) -> Iterator[Figures]:
    """This scenario's figures; printed at the end of the session, pass or fail."""
    record = Figures(scenario=request.node.name, number=getattr(request.module, "SCENARIO", 0))
    started = time.monotonic()
    yield record
    record.seconds = time.monotonic() - started
    if record.sandbox_requests is None:
        with contextlib.suppress(requests.RequestException):
            record.sandbox_requests = sandbox.request_count()
    report = getattr(request.node, "fault_report", None)
    record.outcome = report.outcome if report is not None else "error"
    RECORDED.append(record)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.fault_report = report  # type: ignore[attr-defined]
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures of every scenario that ran, in scenario order, at the very end."""
    lines = summary_lines(SIZE.name)
    if lines:
        terminalreporter.section("fault suite figures")
        for line in lines:
            terminalreporter.write_line(line)
