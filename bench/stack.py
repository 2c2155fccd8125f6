"""The product's processes for one benchmark, on its own database: the sandbox as Genesys,
gunicorn, Celery workers and relay replicas (``tests/processes.py`` starts and kills them;
``bench/commands.py`` has their command lines).

``with BenchStack(…) as stack:`` stops every process it started by its process group on
the way out, whatever happened (an error, Ctrl-C, SIGTERM: ``bench/run.py`` turns it into
an exception).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from bench import commands
from bench.commands import Command
from bench.services import KEY_PREFIX, Services
from tests.processes import STACKS, Process, Stack
from tests.sandbox import SandboxServer, free_port

#: Settings of every process a benchmark starts: production-like (DEBUG off) over plain HTTP
#: on 127.0.0.1, Genesys calls to the sandbox, callbacks to the local receiver, and
#: throttles out of the way (they would cap the load, which is not what is measured).
PRODUCT_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "GENESYS_API_BASE_URL_ALLOWED": "true",
    "CALLBACK_ALLOWED_HOSTS": "127.0.0.1",
    "API_THROTTLE_RATE": "10000000/min",
    "API_HANDOVER_THROTTLE_RATE": "10000000/min",
    "PYTHONUNBUFFERED": "1",
}


class BenchStack(Stack):
    def __init__(self, name: str, services: Services, *, database: str | None = None) -> None:
        self.name = name
        self.services = services
        self.database_url = database or services.create(name)
        log_dir = services.workdir / "logs" / name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stats_dir = log_dir / "stats"
        self.stats_dir.mkdir(exist_ok=True)
        env = {
            **os.environ,
            **PRODUCT_ENV,
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": services.broker_url,
            "CACHE_URL": services.cache_url,
            "BENCH_BROKER_DIR": str(services.broker_dir),
            "BENCH_KEY_PREFIX": KEY_PREFIX,
            "BENCH_STATS_DIR": str(self.stats_dir),
            "STATIC_ROOT": str(services.workdir / "static"),
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        super().__init__(env, log_dir)
        self.sandbox: SandboxServer | None = None
        self.web_urls: list[str] = []

    def __enter__(self) -> BenchStack:
        self.services.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self in STACKS:
            STACKS.remove(self)
        self.services.flush()

    # Processes

    def start(
        self, name: str, command: Command, *, env: dict[str, str] | None = None, wait: bool = True
    ) -> Process:
        process = Process(name, command.args, {**self.env, **(env or {})}, self.log_dir)
        self.others.append(process)
        process.ready = command.ready
        process.start()
        return process.wait_until_logged(command.ready) if wait else process

    def start_sandbox(self) -> SandboxServer:
        port = free_port()
        self.start("sandbox", commands.sandbox(port))
        self.sandbox = SandboxServer(self.log_dir / "sandbox-control.log", port)
        self.env["GENESYS_API_BASE_URL"] = self.sandbox.url
        return self.sandbox

    def start_web(self, *, workers: int = 2, env: dict[str, str] | None = None) -> str:
        """gunicorn with ``workers`` workers; returns its base URL once it answers."""
        port = free_port()
        name = f"web-{len(self.web_urls)}"
        process = self.start(name, commands.web(port, workers), env=env, wait=False)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while process.run_log().count(commands.web(port).ready) < workers or not _answers(url):
            if not process.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{process.run_log()[-3000:]}")
            time.sleep(0.2)
        self.web_urls.append(url)
        return url

    def start_workers(self, count: int, concurrency: int = 2) -> list[Process]:
        started = [
            self.start(f"worker-{n}", commands.worker(f"{self.name}{n}", concurrency), wait=False)
            for n in range(len(self.workers), len(self.workers) + count)
        ]
        for process in started:
            process.wait_until_logged(process.ready)
        self.workers.extend(started)
        self.others = [p for p in self.others if p not in started]
        return started

    def start_relays(self, count: int = 1) -> list[Process]:
        started = [
            self.start(f"relay-{n}", commands.relay(), wait=False)
            for n in range(len(self.relays), len(self.relays) + count)
        ]
        for process in started:
            process.wait_until_logged(process.ready)
        self.relays.extend(started)
        self.others = [p for p in self.others if p not in started]
        return started

    # One-shot commands on this stack's database

    def run(self, command: Command, *, timeout: float = 600) -> str:
        """Run to completion; its standard output (its errors fail the benchmark)."""
        done = subprocess.run(  # noqa: S603 (our own commands, bench/commands.py)
            command.args, cwd=self.root, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command.args[1:])} failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def seed(self, recipe: str, *args: str, timeout: float = 900) -> dict[str, Any]:
        output = self.run(commands.seed(recipe, *args), timeout=timeout)
        return json.loads(output.strip().splitlines()[-1])

    @property
    def root(self) -> Path:
        from tests.processes import ROOT

        return ROOT

    # What the processes did

    def task_queries(self) -> dict[str, list[int]]:
        """SQL statements per Celery task, by task name (``bench/apps.py`` writes them)."""
        counts: dict[str, list[int]] = {}
        for path in self.stats_dir.glob("tasks-*.log"):
            for line in path.read_text().splitlines():
                name, _, count = line.rpartition(" ")
                counts.setdefault(name, []).append(int(count))
        return counts


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/health/live", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def rss_kib(pid: int) -> int:
    """Resident memory of a process (``VmRSS``), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
