"""Exponential backoff with jitter: the one formula every retry in the project uses."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """About ``base · 2^(attempt-1)``, capped at ``cap``, jittered down to half of it.

    The jitter spreads retries of many callers that failed together (equal jitter).
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not cryptography)
