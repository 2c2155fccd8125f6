"""Expiry: one sweep of the beat's expiry task over ``size.expiry_steps`` open handovers of
which 1% are due (idle past their Session Duration), each on a fresh database; and the
largest again with 0.01% due, to show what the time follows: the due handovers, not the
open ones. With PostgreSQL's plan of the listing query (``EXPLAIN ANALYZE``).
"""

from __future__ import annotations

import json
import re

from bench import commands
from bench.services import Services
from bench.sizes import Size
from bench.stack import BenchStack
from bench.stats import heading, note, row, say


def run(services: Services, size: Size) -> None:
    heading(f"Expiry sweep ({services.database_kind})")
    row("", "due", "sweep", "per due", "SQL", "listing")
    largest = max(size.expiry_steps)
    steps = [(n, 1.0) for n in size.expiry_steps] + [(largest, 0.01)]
    plan = ""
    floor = None
    for open_count, percent in steps:
        name = f"expiry_{open_count}_{str(percent).replace('.', '_')}"
        with BenchStack(name, services) as stack:
            stack.seed("expiry", "--open", str(open_count), "--due-percent", str(percent))
            result = json.loads(stack.run(commands.sweep(commands.EXPIRY_TASK)).splitlines()[-1])
        listing = _execution_ms(result["plans"].get("expires_at", ""))
        per_due = result["seconds"] / max(result["due"], 1)
        floor = floor or per_due
        row(
            f"{open_count:,} open, {percent:g}% due",
            f"{result['due']:,}",
            f"{result['seconds'] * 1000:,.0f} ms",
            f"{per_due * 1000:.2f} ms",
            f"{result['queries']:,}",
            f"{listing:.2f} ms" if listing is not None else "?",
        )
        if result["left"]:
            note(f"{result['left']} due handovers were still open after the sweep")
        if open_count == largest and percent == 1.0:
            plan = result["plans"].get("expires_at", "")
    note(
        "target: 100,000 open / 1,000 due ≤ 0.5 s, growing with the due count only; 'due' "
        "excludes the one an untimed warm-up run ended (bench/sweep.py)"
    )
    if plan:
        say(f"   plan of the expires_at listing at {largest:,} open, 1% due:")
        for line in plan.splitlines():
            say(f"      {line}")


def _execution_ms(plan: str) -> float | None:
    match = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return float(match.group(1)) if match else None
