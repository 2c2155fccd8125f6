"""Configuration read: ``GET /api/v1/endpoints/{id}/`` and the list of 20 under gunicorn
(2 workers), against a bare Django JSON view and a bare DRF token view served by the same
process; requests/s, p50/p99 and SQL statements per request, with ``?conn_max_age=0`` in
``DATABASE_URL`` (a connection per request) and with the default persistent connections.
Then agent availability under traffic: how many calls reach Genesys per queue, and how
many token requests.
"""

from __future__ import annotations

import math
import time

from bench.load import LoadResult, merged, run_load
from bench.services import Services
from bench.sizes import Size
from bench.stack import BenchStack
from bench.stats import heading, ms, note, row, say

CONCURRENCY = 4  # two per gunicorn worker: one is always queued behind the other
ROUNDS = 5  # each figure's load time is split into rounds, interleaved with the others'


def _line(label: str, result: LoadResult, floor: LoadResult | None) -> None:
    ratio = f"{result.per_second / floor.per_second:.2f}x" if floor else "(floor)"
    errors = sum(n for status, n in result.statuses.items() if status >= 400)
    row(
        label,
        f"{result.per_second:,.0f}/s",
        ms(result.p(50)),
        ms(result.p(99)),
        f"{result.queries_per_request} SQL",
        ratio,
    )
    if errors:
        note(f"{label}: {errors} of {result.requests} answers were errors {dict(result.statuses)}")


def run(services: Services, size: Size) -> None:
    heading("Configuration read (gunicorn, 2 sync workers)")
    with BenchStack("config", services) as stack:
        sandbox = stack.start_sandbox()
        seeded = stack.seed("config", "--endpoints", "20")
        headers = {"Authorization": f"Token {seeded['token']}"}
        detail_id = seeded["endpoints"][0]
        variants = [
            ("?conn_max_age=0 (a connection per request)", {"conn_max_age": "0"}),
            ("default: DATABASE_CONN_MAX_AGE=600, health checks", {}),
        ]
        for title, options in variants:
            url = stack.start_web(env={"DATABASE_URL": services.database_url("config", **options)})
            say(f"   -- {title}")
            row("", "requests/s", "p50", "p99", "per request", "ratio")

            paths = {
                "bare": ("/bench/bare-django/", {}),
                "drf": ("/bench/bare-drf/", headers),
                "detail": (f"/api/v1/endpoints/{detail_id}/", headers),
                "list": ("/api/v1/endpoints/?page_size=20", headers),
            }
            for path, auth in paths.values():  # warm-up
                run_load(f"{url}{path}", headers=auth, seconds=size.load_seconds / 5)
            # Interleaved rounds: a change in the machine's other load hits every figure alike.
            rounds: dict[str, list[LoadResult]] = {name: [] for name in paths}
            for _ in range(ROUNDS):
                for name, (path, auth) in paths.items():
                    rounds[name].append(
                        run_load(
                            f"{url}{path}",
                            headers=auth,
                            seconds=size.load_seconds / ROUNDS,
                            concurrency=CONCURRENCY,
                        )
                    )
            bare, drf, detail, listing = (merged(rounds[name]) for name in paths)
            _line("bare Django JSON view", bare, None)
            _line("bare DRF view, token auth (vs bare Django)", drf, bare)
            _line("endpoint detail (vs bare DRF)", detail, drf)
            _line("endpoint list of 20 (vs bare DRF)", listing, drf)
            row(
                "endpoint detail vs bare Django",
                "",
                "",
                "",
                "",
                f"{detail.per_second / bare.per_second:.2f}x",
            )
            stack.others[-1].stop()
        note(
            "the load runs in the bench process on the same two cores (about 0.3 ms of CPU "
            "per request), which caps the fastest floor"
        )
        availability(stack, sandbox, url_env={}, headers=headers, endpoint=detail_id, size=size)


def availability(stack, sandbox, *, url_env, headers, endpoint, size: Size) -> None:
    """Agent availability requested as fast as the API answers: Genesys must see one call
    per queue per cache window (``AGENT_AVAILABILITY_CACHE_SECONDS``, 10 s) and one token."""
    url = stack.start_web(env=url_env)
    sandbox.clear_requests()
    seconds = max(size.load_seconds * 3, 6.0)
    started = time.monotonic()
    result = run_load(
        f"{url}/api/v1/endpoints/{endpoint}/agent-availability/",
        headers=headers,
        seconds=seconds,
        concurrency=CONCURRENCY,
    )
    elapsed = time.monotonic() - started
    windows = math.ceil(elapsed / 10.0)
    queries = sandbox.request_count("/api/v2/analytics/queues/observations/query")
    queue_reads = sandbox.request_count("/api/v2/routing/queues/")
    tokens = sandbox.request_count("/oauth/token")
    say("   -- agent availability under traffic (one queue, one OAuth connection)")
    row("", "requests", "per second", "p50", "p99")
    row("GET …/agent-availability/", f"{result.requests:,}", f"{result.per_second:,.0f}/s",
        ms(result.p(50)), ms(result.p(99)))  # fmt: skip
    row("observation queries at Genesys", f"{queries}", f"target ≤ {windows}")
    row("queue reads at Genesys", f"{queue_reads}", f"target ≤ {windows}")
    row("token requests at Genesys", f"{tokens}", "target ≤ 1")
    if result.statuses.keys() - {200}:
        note(f"answers: {dict(result.statuses)}")
