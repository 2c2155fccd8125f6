"""In a Celery worker of the benchmarks: SQL statements per task, appended to
``$BENCH_STATS_DIR/tasks-<pid>.log`` (one ``<task name> <statements>`` line per task)."""

from __future__ import annotations

import os
from typing import Any

from django.apps import AppConfig

from bench.middleware import QueryCounter


class BenchConfig(AppConfig):
    name = "bench"
    label = "bench"

    def ready(self) -> None:
        if os.environ.get("BENCH_STATS_DIR"):
            from celery.signals import task_postrun, task_prerun

            task_prerun.connect(_count_queries, weak=False)
            task_postrun.connect(_record_queries, weak=False)


_running: dict[str, tuple[Any, QueryCounter]] = {}


def _count_queries(task_id: str, task: Any, **kwargs: Any) -> None:
    from django.db import connections

    counter = QueryCounter()
    wrapper = connections["default"].execute_wrapper(counter)
    wrapper.__enter__()
    _running[task_id] = (wrapper, counter)


def _record_queries(task_id: str, task: Any, **kwargs: Any) -> None:
    entry = _running.pop(task_id, None)
    if entry is None:
        return
    wrapper, counter = entry
    wrapper.__exit__(None, None, None)
    path = os.path.join(os.environ["BENCH_STATS_DIR"], f"tasks-{os.getpid()}.log")
    with open(path, "a") as log:
        log.write(f"{task.name} {counter.count}\n")
