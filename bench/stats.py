"""Percentiles and the printed lines: each figure beside its floor, as a ratio."""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Every line printed, for the run's summary at the end (``bench/run.py``).
LINES: list[str] = []


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (``p`` in 0-100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def ratio(value: float, floor: float) -> str:
    if not floor or math.isnan(value) or math.isnan(floor):
        return "-"
    return f"{value / floor:.2f}x"


def say(line: str = "") -> None:
    print(line, flush=True)
    LINES.append(line)


def heading(title: str) -> None:
    say()
    say(f"== {title}")


def note(text: str) -> None:
    say(f"   note: {text}")


def row(label: str, *cells: str) -> None:
    say(f"   {label:<46} " + "  ".join(f"{cell:>14}" for cell in cells))
