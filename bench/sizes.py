"""How big each benchmark runs: ``BENCH_SIZE=full`` (the default, ``make bench``) or ``small``
(a quick run of every benchmark, for trying a change; its figures are noisier)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    #: Seconds of load per configuration-read figure (after a warm-up of a fifth of it).
    load_seconds: float
    #: Messages timed one at a time in each relay direction (the issue asks for ≥ 1,000).
    latency_messages: int
    #: End-to-end throughput: concurrent handovers and messages in all.
    handovers: int
    messages: int
    #: Open conversations one relay holds, per step.
    open_steps: tuple[int, ...]
    #: Open handovers of the expiry sweep (1% of each are due).
    expiry_steps: tuple[int, ...]
    #: The admin: handover rows and the transcript's messages.
    admin_rows: int
    admin_transcript: int


FULL = Size(
    name="full",
    load_seconds=5.0,
    latency_messages=1000,
    handovers=100,
    messages=10_000,
    open_steps=(100, 1000, 5000),
    expiry_steps=(1000, 10_000, 100_000),
    admin_rows=10_000,
    admin_transcript=2000,
)
SMALL = Size(
    name="small",
    load_seconds=1.5,
    latency_messages=100,
    handovers=20,
    messages=1000,
    open_steps=(100, 300),
    expiry_steps=(1000, 10_000),
    admin_rows=1000,
    admin_transcript=200,
)
SIZES = {size.name: size for size in (FULL, SMALL)}


def current() -> Size:
    name = os.environ.get("BENCH_SIZE", "full").strip().lower() or "full"
    if name not in SIZES:
        raise SystemExit(f"BENCH_SIZE={name!r}: use one of {', '.join(SIZES)}")
    return SIZES[name]
