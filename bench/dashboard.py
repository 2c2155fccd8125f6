"""The handover overview over 100,000 handovers, against a floor measured in the same run.

Seeds a throwaway SQLite database (``bulk_create``: handovers over 30 days across every
status and end reason, agent events for most) and times the overview page against the
admin index, which does no aggregation: the ratio says what the figures cost on this
machine, whatever its speed. Run alone with ``python -m bench.dashboard``; ``make bench``
runs it last. Not a test.
"""

from __future__ import annotations

import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta

HANDOVERS = 100_000
BATCH = 5_000


def median_ms(run: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def seed(count: int) -> None:
    from django.utils import timezone

    from endpoints.models import EndReason, EventKind, Handover, HandoverEvent
    from tests.factories import EndpointFactory

    endpoints = [EndpointFactory(handover_provider="genesys") for _ in range(20)]
    now = timezone.now()
    rng = random.Random(42)  # noqa: S311 (test data)
    reasons = EndReason.values
    for offset in range(0, count, BATCH):
        rows = []
        for index in range(offset, min(offset + BATCH, count)):
            started = now - timedelta(seconds=rng.randrange(30 * 24 * 3600))
            is_open = index % 50 == 0
            rows.append(
                Handover(
                    endpoint=endpoints[index % len(endpoints)],
                    provider="genesys",
                    user_id=f"u{index}",
                    session_id=f"s{index}",
                    status=rng.choice(["starting", "queued", "active"]) if is_open else "ended",
                    session_duration_minutes=20,
                    started_at=started,
                    last_activity_at=started,
                    ended_at=None if is_open else started + timedelta(minutes=rng.randrange(60)),
                    end_reason="" if is_open else reasons[index % len(reasons)],
                    last_event_seq=2,
                )
            )
        Handover.objects.bulk_create(rows)
        events, answered = [], []
        for handover in Handover.objects.filter(session_id__in=[r.session_id for r in rows]):
            if rng.random() < 0.7:
                joined = handover.started_at + timedelta(seconds=rng.randrange(600))
                reply = joined + timedelta(seconds=rng.randrange(120))
                handover.first_agent_at, handover.first_reply_at = joined, reply
                answered.append(handover)
                events.append(
                    HandoverEvent(
                        handover=handover, seq=1, kind=EventKind.AGENT_JOINED, created_at=joined
                    )
                )
                events.append(
                    HandoverEvent(
                        handover=handover,
                        seq=2,
                        kind=EventKind.AGENT_MESSAGE,
                        data={"text": "Hi"},
                        created_at=reply,
                    )
                )
        HandoverEvent.objects.bulk_create(events, batch_size=BATCH)
        Handover.objects.bulk_update(answered, ["first_agent_at", "first_reply_at"], BATCH)


def run() -> None:
    """Seeds and times, on the database Django is set up with (``bench.run.setup``)."""
    from django.test import Client
    from django.urls import reverse

    from endpoints.models import Handover
    from tests.factories import UserFactory

    started = time.perf_counter()
    seed(HANDOVERS)
    print(f"seeded {Handover.objects.count()} handovers in {time.perf_counter() - started:.1f} s")
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    index, overview = reverse("admin:index"), reverse("handover-overview")
    for url in (index, overview):
        status = client.get(url, HTTP_HOST="127.0.0.1").status_code  # warm up
        if status != 200:
            raise SystemExit(f"{url} answered {status}")
    floor = median_ms(lambda: client.get(index, HTTP_HOST="127.0.0.1"), 20)
    page = median_ms(lambda: client.get(overview, HTTP_HOST="127.0.0.1"), 5)
    print(f"{'admin index (the floor)':<60} median {floor:8.2f} ms")
    print(f"{'handover overview, 100,000 handovers':<60} median {page:8.2f} ms   "
          f"ratio {page / floor:6.1f}x")  # fmt: skip


def main() -> int:
    from bench.run import setup

    workdir = setup()
    run()
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
