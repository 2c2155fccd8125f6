"""The handover overview (``/admin/handover-overview/``) over 100,000 handovers (across
every status and end reason, over 30 days, agent events for most), served by gunicorn,
against the admin index, which does no aggregation, served by the same process.
"""

from __future__ import annotations

import statistics

from bench.admin_pages import login, timed
from bench.services import Services
from bench.sizes import Size
from bench.stack import BenchStack
from bench.stats import heading, note, row

HANDOVERS = 100_000


def run(services: Services, size: Size) -> None:
    count = HANDOVERS if size.name == "full" else HANDOVERS // 10
    heading(f"Handover overview ({count:,} handovers)")
    with BenchStack("overview", services) as stack:
        seeded = stack.seed("overview", "--rows", str(count))
        url = stack.start_web()
        http = login(url, seeded["username"], seeded["password"])
        row("", "median", "worst", "SQL", "KiB", "ratio")
        floor = None
        for label, path in [
            ("admin index (the floor)", "/admin/"),
            ("handover overview", "/admin/handover-overview/"),
        ]:
            samples, queries, body = timed(http, f"{url}{path}")
            median = statistics.median(samples)
            floor = floor or median
            row(label, f"{median * 1000:,.0f} ms", f"{max(samples) * 1000:,.0f} ms", queries,
                f"{body / 1024:,.0f}", f"{median / floor:.1f}x")  # fmt: skip
        note("10 sequential requests each, after one untimed")
