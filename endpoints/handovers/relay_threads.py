"""Blocking work of a relay process (database writes, ``requests`` calls) on a bounded pool
of threads, off its event loop.

``sync_to_async`` runs everything on one shared thread by default (``thread_sensitive``):
one slow provider answer, or a ``Retry-After`` sleep, would then hold up the recording of
every other conversation's events. Each job here gets a thread of its own pool and a fresh
or still usable database connection (``close_old_connections`` before and after, as Django
does around a request).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import close_old_connections

T = TypeVar("T")


def _job(function: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()


class BlockingPool:
    """``await pool.run(function, *args)``: ``function`` on one of ``threads`` threads."""

    def __init__(self, threads: int, *, name: str = "relay") -> None:
        self._executor = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix=name)

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        job = functools.partial(_job, function, args, kwargs)
        return await loop.run_in_executor(self._executor, job)

    def close(self) -> None:
        """Drop the jobs not started yet; wait for those running (bounded by their timeouts)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
