"""Compute-once caching: a burst of callers on a cold key makes one upstream call.

The first caller takes a short lock (``cache.add``) and computes; the others wait for its
result instead of calling Genesys too. With a shared cache (Redis) this holds across every
process; if the holder dies, the lock expires and the next caller computes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")
_MISSING = object()
POLL_SECONDS = 0.05


def get_or_compute(key: str, compute: Callable[[], tuple[T, float]], *, lock_seconds: float) -> T:
    """The cached value of ``key``, or ``compute()``'s (value, seconds to keep it)."""
    value = cache.get(key, _MISSING)
    if value is not _MISSING:
        return value  # type: ignore[return-value]
    lock_key = f"{key}:lock"
    deadline = time.monotonic() + lock_seconds
    while not cache.add(lock_key, 1, timeout=max(1, round(lock_seconds))):
        time.sleep(POLL_SECONDS)
        value = cache.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            break  # the holder is slow or gone: compute rather than wait forever
    try:
        value, keep_seconds = compute()
        if keep_seconds > 0:
            cache.set(key, value, timeout=keep_seconds)
        return value
    finally:
        cache.delete(lock_key)
