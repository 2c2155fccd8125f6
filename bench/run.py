"""Benchmarks: timings of the hot paths on a throwaway SQLite database (``make bench``).

Tests assert query counts and complexity; this prints how long things take, for
comparing changes on one machine. Not part of ``make test``.

- the endpoint list API (500 endpoints with Genesys settings), per request;
- the expiry beat with many open handovers of which few are due (the index at work);
- recording agent events (the per-handover row lock and sequence), per event;
- the handover overview over 100,000 handovers (``bench/dashboard.py``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(label: str, run: Callable[[], object], *, repeat: int = 20) -> None:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    median = statistics.median(samples) * 1000
    best = min(samples) * 1000
    print(f"{label:<60} median {median:8.2f} ms   best {best:8.2f} ms   (n={repeat})")


def setup() -> Path:
    """Django on a throwaway SQLite database, migrated; returns its directory."""
    workdir = Path(tempfile.mkdtemp(prefix="handover-bench-"))
    # BENCH_DATABASE_URL: an empty scratch database of another kind (PostgreSQL), else SQLite.
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "handover_portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return workdir


def main() -> int:
    workdir = setup()
    from django.utils import timezone
    from rest_framework.test import APIClient

    from endpoints.handovers.expiry import handovers_expire
    from endpoints.handovers.services import handover_event_record, reset_idle_clock
    from endpoints.models import Handover
    from handover_portal.celery import app
    from tests.factories import GenesysSettingsFactory, HandoverFactory, TokenFactory, UserFactory

    app.conf.broker_url = "memory://"
    endpoints = [GenesysSettingsFactory().endpoint for _ in range(500)]
    token = TokenFactory(user=UserFactory(is_superuser=True))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    timed(
        "GET /api/v1/endpoints/?page_size=500 (500 endpoints)",
        lambda: client.get("/api/v1/endpoints/?page_size=500", HTTP_HOST="127.0.0.1"),
    )

    now = timezone.now()
    open_handovers = []
    for index in range(5000):
        handover = HandoverFactory.build(
            endpoint=endpoints[index % len(endpoints)], session_duration_minutes=60
        )
        reset_idle_clock(handover, now)
        open_handovers.append(handover)
    Handover.objects.bulk_create(open_handovers)
    timed("expiry beat, 5000 open handovers, none due", handovers_expire)

    handover = Handover.objects.first()
    counter = iter(range(10**9))
    timed(
        "record one agent message event",
        lambda: handover_event_record(
            handover_id=handover.pk,
            kind="agent_message",
            data={"text": "hello"},
            external_id=f"m{next(counter)}",
            activity=True,
        ),
        repeat=200,
    )
    Handover.objects.filter(pk__in=[h.pk for h in open_handovers[:100]]).update(
        expires_at=now - timedelta(minutes=1), warn_at=None
    )
    timed("expiry beat, 5000 open handovers, 100 due (first run ends them)", handovers_expire,
          repeat=1)  # fmt: skip
    from bench import dashboard

    dashboard.run()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
