"""End-to-end throughput: ``size.handovers`` web chat handovers at once, ``size.messages``
user messages in all, with 1 and then 2 Celery worker processes (concurrency 2 each):
how fast the runtime API accepts them, how fast they reach the sandbox, and that each
conversation holds exactly what was sent, in order (nothing lost, duplicated or reordered).
Also SQL statements per API call and per worker task, and Genesys token requests.

Stack: gunicorn (2 workers), the workers, one relay, the sandbox; one client process
sending over 8 connections (each handover's messages one after the other, the handovers in turn).
Then the workers alone (``drain``): half as many messages accepted while no worker runs, then
relayed by 1 and by 2 worker processes, so the workers' rate is not the API's.
"""

from __future__ import annotations

import time

from bench.api import wait_until
from bench.load import run_load
from bench.services import Services
from bench.sizes import Size
from bench.stack import BenchStack
from bench.stats import heading, ms, note, row
from bench.traffic import guest_messages_at, p, send_messages, start_handovers, verify

#: The longest one run may take to relay everything (then it reports what arrived).
DRAIN_TIMEOUT = 420
#: Seconds of the floor's load (the bare Django view) before each run's messages.
FLOOR_SECONDS = 3.0


def run(services: Services, size: Size) -> None:
    heading(
        f"End-to-end throughput ({size.handovers} handovers, {size.messages:,} messages, web chat)"
    )
    row("", "accepted/s", "relayed/s", "API p50", "API p99", "lost/dup/reord")
    for workers in (1, 2):
        # A stack of its own each (database, sandbox, relay): nothing left from the other.
        with BenchStack(f"throughput_{workers}", services) as stack:
            sandbox, seeded, url = _web_chat_stack(stack, workers)
            measure(stack, sandbox, [url], seeded, size, f"{workers} worker process(es)")
            tasks = stack.task_queries()
            total = sum(sum(counts) for counts in tasks.values())
            outbox = [n for name, counts in tasks.items() if "outbox" in name for n in counts]
            row(
                "  worker SQL per relayed message (and start)",
                f"{total / (size.messages + size.handovers):.1f} SQL",
                f"{len(outbox):,} outbox tasks",
                f"max {max(outbox, default=0)} SQL",
            )
            row(
                "  token requests at Genesys (guest API: none)",
                str(sandbox.request_count("/oauth/token")),
            )
    drain(services, size)


def drain(services: Services, size: Size) -> None:
    """The workers' own rate, with the API out of the way: the messages are accepted while
    no worker runs (their tasks wait in the broker), then the workers start and relay the
    backlog; relayed/s from the workers' start to the last arrival at the sandbox."""
    count = size.messages // 2
    row(f"  the workers alone: {count:,} messages queued first", "queued/s", "relayed/s")
    for workers in (1, 2):
        with BenchStack(f"drain_{workers}", services) as stack:
            # One worker for the starts (they create the Genesys conversations).
            sandbox, seeded, url = _web_chat_stack(stack, 1)
            handovers = start_handovers([url], seeded["key"], seeded["webchat"][0], size.handovers)
            _wait_for_conversations(sandbox, size.handovers)
            for worker in stack.workers:
                worker.stop()
            sent = send_messages([url], seeded["key"], handovers, count // size.handovers)
            before = guest_messages_at(sandbox)
            stack.start_workers(workers)
            started = time.time()
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while guest_messages_at(sandbox) - before < sent.count and time.monotonic() < deadline:
                time.sleep(0.25)
            verdict = verify(sandbox, sent)
            relayed = verdict.received / (verdict.last_arrival - started) if verdict.received else 0
            row(
                f"    {workers} worker process(es)",
                f"{sent.accept_rate:,.0f}/s",
                f"{relayed:,.0f}/s",
                "",
                "",
                f"{verdict.lost}/{verdict.duplicated}/{verdict.reordered}",
            )


def _web_chat_stack(stack: BenchStack, workers: int):
    """The sandbox, the seeded web chat endpoint, gunicorn, one relay and the workers."""
    sandbox = stack.start_sandbox()
    seeded = stack.seed("relay", "--webchat", "1")
    url = stack.start_web()
    stack.start_relays(1)
    stack.start_workers(workers)
    return sandbox, seeded, url


def _wait_for_conversations(sandbox, count: int) -> None:
    wait_until(
        lambda: len(sandbox.conversations()) >= count,
        timeout=120, what="every Genesys conversation", every=0.25,
    )  # fmt: skip


def measure(stack, sandbox, urls, seeded, size: Size, label: str) -> None:
    """Start the handovers, send every message, wait until they are at the sandbox, verify."""
    started_at = time.monotonic()
    handovers = start_handovers(urls, seeded["key"], seeded["webchat"][0], size.handovers)
    _wait_for_conversations(sandbox, size.handovers)
    start_seconds = time.monotonic() - started_at
    # The floor: the fastest this web tier answers anything, over as many connections.
    floor = run_load(f"{urls[0]}/bench/bare-django/", seconds=FLOOR_SECONDS, concurrency=8)
    before = guest_messages_at(sandbox)
    sent = send_messages(urls, seeded["key"], handovers, size.messages // size.handovers)
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while guest_messages_at(sandbox) - before < sent.count and time.monotonic() < deadline:
        time.sleep(0.25)
    verdict = verify(sandbox, sent)
    relayed = verdict.received / (verdict.last_arrival - sent.started) if verdict.received else 0
    row(
        label,
        f"{sent.accept_rate:,.0f}/s",
        f"{relayed:,.0f}/s",
        ms(p(sent.latencies, 50)),
        ms(p(sent.latencies, 99)),
        f"{verdict.lost}/{verdict.duplicated}/{verdict.reordered}",
    )
    queries = sorted(sent.queries)
    row(
        f"  {size.handovers} starts: {size.handovers / start_seconds:,.0f}/s to the sandbox",
        f"API {queries[0] if queries else '?'}-{queries[-1] if queries else '?'} SQL/msg",
        "targets: ≥ 500/s accepted, ≥ 300/s relayed, 0/0/0",
    )
    row(
        "  floor: bare Django view, same gunicorn, 8 clients",
        f"{floor.per_second:,.0f}/s",
        "",
        ms(floor.p(50)),
        ms(floor.p(99)),
        f"accepted {sent.accept_rate / floor.per_second:.2f}x",
    )
    if sent.statuses.keys() - {202}:
        note(f"API answers: {dict(sent.statuses)}")
    if verdict.received < sent.count:
        note(f"only {verdict.received:,} of {sent.count:,} arrived within {DRAIN_TIMEOUT} s")
