"""Every command line the benchmarks start, in this one module.

The product's processes are driven as an operator runs them; when one is renamed or moved
(``manage.py relay``, the sandbox's package), only this module changes. Each
long-running command comes with the text its log shows once it is up.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

PYTHON = sys.executable


@dataclass(frozen=True)
class Command:
    args: list[str]
    #: What the process logs once it is ready (long-running commands only).
    ready: str = ""


def sandbox(port: int) -> Command:
    """The Genesys Cloud sandbox (no database)."""
    return Command([PYTHON, "-m", "genesys_sandbox", "--port", str(port)], "Genesys Cloud sandbox:")


def web(port: int, workers: int = 2) -> Command:
    """gunicorn, as the Procfile runs it (sync workers)."""
    return Command(
        [
            PYTHON, "-m", "gunicorn", "handover_portal.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--timeout", "120", "--graceful-timeout", "5", "--backlog", "4096",
        ],
        "Booting worker",
    )  # fmt: skip


def worker(hostname: str, concurrency: int = 2) -> Command:
    """A Celery worker (prefork), as the Procfile runs it."""
    return Command(
        [
            PYTHON, "-m", "celery", "-A", "handover_portal", "worker",
            "--loglevel", "INFO", "--concurrency", str(concurrency), "--pool", "prefork",
            "--without-mingle", "--without-gossip", "--hostname", f"{hostname}@%h",
        ],
        " ready.",
    )  # fmt: skip


def relay() -> Command:
    """One relay replica (event streams and notification channels of every provider)."""
    return Command([PYTHON, "manage.py", "relay"], "Relay: running")


def migrate() -> Command:
    return Command([PYTHON, "manage.py", "migrate", "--noinput", "--verbosity", "0"])


def collectstatic() -> Command:
    return Command([PYTHON, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"])


def seed(recipe: str, *args: str) -> Command:
    """The benchmarks' own data (``bench/seed.py``), printed back as JSON."""
    return Command([PYTHON, "-m", "bench.seed", recipe, *args])


def sweep(*args: str) -> Command:
    """One expiry sweep timed in a Django process of its own (``bench/sweep.py``)."""
    return Command([PYTHON, "-m", "bench.sweep", *args])


#: The beat's expiry task, as the beat names it.
EXPIRY_TASK = "endpoints.tasks.handovers_expire_task"
