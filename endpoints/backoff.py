"""Exponential backoff with equal jitter: the one formula every retry in the project uses.

Each use brings its own parameters (``base``, ``cap``) and says what its ``attempt`` counts;
the README's "Retries" lists them all. A use that knows better (a 429's ``Retry-After``)
waits that instead, or at least that.
"""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """About ``base · 2^(attempt-1)``, capped at ``cap``, jittered down to half of it.

    ``attempt`` is 1 for the first wait (after the first failure), 2 for the second, …;
    below 1 counts as 1. The jitter spreads retries of many callers that failed together
    (equal jitter: the wait is never below half its ceiling, so no hot loop).
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not cryptography)
