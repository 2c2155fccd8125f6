"""The product's processes as subprocesses (a worker, the relay, gunicorn, the sandbox…),
each with its output in a log file and killed by its process group.

Shared by the end-to-end and fault suites (``tests/e2e/conftest.py``,
``tests/faults/conftest.py``) and the benchmarks (``bench/stack.py``); no pytest in here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ProcessFailed(RuntimeError):
    """A process exited at start, or did not say it was ready in time."""


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
                raise ProcessFailed(f"{self.name} exited at start:\n{self.run_log()[-4000:]}")
            if time.monotonic() > deadline:
                raise ProcessFailed(
                    f"{self.name} did not start in {timeout} s:\n{self.run_log()[-4000:]}"
                )
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

    def start_relay(
        self, name: str = "relay", *, wait: bool = True, env: dict[str, str] | None = None
    ) -> Process:
        """A relay replica (``manage.py relay``); ``env`` adds to or overrides the stack's."""
        relay = Process(
            name if not self.relays else f"{name}-{len(self.relays)}",
            [sys.executable, "manage.py", "relay"],
            {**self.env, **(env or {})},
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
