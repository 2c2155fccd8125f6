"""``make bench``: every benchmark, each figure printed beside its floor measured in the
same run. ``python -m bench.run [name …]`` runs some only (names below); ``BENCH_SIZE=small``
runs each at a reduced size. See ``bench/README.md``.

The benchmarks start the product's real processes (``bench/stack.py``) on this machine's
PostgreSQL and Redis, or SQLite and the filesystem broker when those do not answer, with
the Genesys sandbox as Genesys. Every process is killed by its process group at the end,
on an error, Ctrl-C or SIGTERM too; every database made is dropped.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType

from bench import commands, sizes
from bench.services import Services
from bench.stack import BenchStack
from bench.stats import heading, note, say
from tests.processes import STACKS

#: In the order they run: name → module (each has ``run(services, size)``).
BENCHMARKS = {
    "config": "bench.config_read",
    "latency": "bench.relay_latency",
    "throughput": "bench.throughput",
    "open": "bench.open_conversations",
    "expiry": "bench.expiry",
    "admin": "bench.admin_pages",
    "scaleout": "bench.scale_out",
    "overview": "bench.dashboard",
}


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def prepare(services: Services) -> None:
    """The template database, migrated once; static files for the admin (DEBUG off)."""
    services.create_template()
    with BenchStack("template", services, database=services.template_url) as stack:
        stack.run(commands.migrate())
        stack.run(commands.collectstatic())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("names", nargs="*", metavar="name", help=", ".join(BENCHMARKS))
    names = parser.parse_args(argv).names or list(BENCHMARKS)
    if unknown := set(names) - set(BENCHMARKS):
        parser.error(f"unknown benchmark(s) {sorted(unknown)}: choose from {list(BENCHMARKS)}")
    size = sizes.current()
    signal.signal(signal.SIGTERM, _terminate)
    workdir = Path(tempfile.mkdtemp(prefix="hp-bench-"))
    services = Services.detect(workdir)
    started = time.monotonic()
    say(f"Handover Portal benchmarks, size {size.name}: {', '.join(names)}")
    say(f"   {platform.node()}: {_cpus()} CPUs, Python {platform.python_version()}, "
        f"{services.database_kind}, broker {services.broker_url}")  # fmt: skip
    say(f"   load average before: {_load()} (other work on the machine skews every figure)")
    for text in services.notes:
        note(text)
    failed = []
    try:
        prepare(services)
        for name in names:
            began = time.monotonic()
            try:
                importlib.import_module(BENCHMARKS[name]).run(services, size)
            except KeyboardInterrupt:
                raise
            except Exception as error:  # one benchmark failing does not stop the others
                failed.append(name)
                where = traceback.extract_tb(error.__traceback__)[-1]
                heading(f"{name} FAILED: {type(error).__name__}: {error}"[:2000])
                note(f"raised at {where.filename}:{where.lineno}")
            say(f"   ({name}: {time.monotonic() - began:.0f} s)")
    finally:
        for stack in list(STACKS):
            stack.stop()
        services.drop_all()
        services.flush()
        if not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"   logs kept in {workdir}/logs")
    say(f"\nDone in {time.monotonic() - started:.0f} s, load average {_load()}"
        + (f"; failed: {failed}" if failed else ""))  # fmt: skip
    return 1 if failed else 0


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def _cpus() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
