"""One expiry sweep, timed in a Django process of its own (``python -m bench.sweep``).

The beat's task (by its name, ``bench/commands.py``) runs here until no open handover is
due, its SQL statements counted. Before it, an untimed warm-up run ends one due handover
and takes the plans of the listing queries (PostgreSQL: ``EXPLAIN (ANALYZE, BUFFERS)``).
Tasks the sweep publishes go to an in-memory broker: one per batch for the disconnects and
one for the callbacks (a worker publishes the per-handover tasks, which is not timed here).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any

from bench.middleware import QueryCounter


class PlanTaker:
    """An execute wrapper for the warm-up run: the handover listings by ``warn_at`` and
    ``expires_at`` (each locks its batch: ``FOR UPDATE SKIP LOCKED``) are explained, and
    the ``expires_at`` one lists one handover only, so the warm-up ends one (paying the
    first run's imports and connections, untimed)."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.plans: dict[str, str] = {}

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        listing = sql.lstrip().upper().startswith("SELECT")
        for column in ("warn_at", "expires_at"):
            if listing and f'"{column}" <=' in sql and column not in self.plans:
                explain = (
                    "EXPLAIN (ANALYZE, BUFFERS) " if self.vendor == "postgresql"
                    else "EXPLAIN QUERY PLAN "
                )  # fmt: skip
                cursor = context["cursor"]
                cursor.execute(explain + sql, params)
                self.plans[column] = "\n".join(" ".join(map(str, r)) for r in cursor.fetchall())
                if column == "expires_at":
                    sql = re.sub(r"LIMIT \d+", "LIMIT 1", sql)
        return execute(sql, params, many, context)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep")
    parser.add_argument("task")
    task_name = parser.parse_args(argv).task
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.apps import apps
    from django.db import connection
    from django.utils import timezone

    from handover_portal.celery import app

    app.conf.broker_url = "memory://"
    app.loader.import_default_modules()
    task = app.tasks[task_name]
    Handover = apps.get_model("endpoints", "Handover")

    def due() -> int:
        return Handover.objects.filter(
            expires_at__lte=timezone.now(), status__in=["starting", "queued", "active"]
        ).count()

    plans = PlanTaker(connection.vendor)
    with connection.execute_wrapper(plans):
        task.run()
    due_before = due()
    counter = QueryCounter()
    runs = 0
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        while runs < 10_000:
            task.run()
            runs += 1
            if due() == 0:  # counted too: the beat's task would run again while batches fill
                break
    seconds = time.perf_counter() - started
    print(json.dumps({
        "due": due_before, "left": due(), "seconds": seconds, "runs": runs,
        "queries": counter.count, "plans": plans.plans,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
