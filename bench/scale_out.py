"""Scale-out on the existing engines: two gunicorn processes (2 workers each), two Celery
worker processes and two relay replicas on the same PostgreSQL and Redis. User messages
are sent through both web processes; agents answer every conversation. Checked at the
sandbox and at the channel's callback: nothing lost, duplicated or reordered in either
direction, and each event stream held by one replica only.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, defaultdict

from bench.api import wait_until
from bench.receiver import CallbackReceiver
from bench.services import Services
from bench.sizes import Size
from bench.stack import BenchStack
from bench.stats import heading, note, row
from bench.throughput import measure

AGENT_MESSAGES = 5  # per conversation


def run(services: Services, size: Size) -> None:
    messages = size.messages // 2
    heading(
        f"Scale-out: 2 web processes, 2 workers, 2 relay replicas ({size.handovers} "
        f"handovers, {messages:,} messages)"
    )
    if not services.postgres:
        note("skipped: relay replicas divide handovers through PostgreSQL row locks")
        return
    secret = secrets.token_hex(24)
    with BenchStack("scaleout", services) as stack, CallbackReceiver(secret) as receiver:
        sandbox = stack.start_sandbox()
        seeded = stack.seed("relay", "--callback-url", receiver.url, "--secret", secret)
        urls = [stack.start_web(), stack.start_web()]
        stack.start_workers(2)
        stack.start_relays(2)
        row("", "accepted/s", "relayed/s", "API p50", "API p99", "lost/dup/reord")
        scaled = type(size)(**{**size.__dict__, "messages": messages})
        measure(stack, sandbox, urls, seeded, scaled, "user → Genesys, 2 + 2 + 2")
        agents(sandbox, receiver, size.handovers)


def agents(sandbox, receiver: CallbackReceiver, handovers: int) -> None:
    """Every conversation: an agent joins and sends ``AGENT_MESSAGES``; each must reach the
    callback once, in order; each stream must be held once."""
    chats = [c["id"] for c in sandbox.conversations()]
    wait_until(
        lambda: sandbox.state()["open_streams"] >= len(chats),
        timeout=60, what="every event stream held", every=0.5,
    )  # fmt: skip
    by_conversation = sandbox.state()["open_streams_by_conversation"]
    twice = sum(1 for n in by_conversation.values() if n > 1)
    before = len(receiver.arrivals)
    started = time.perf_counter()
    for cid in chats:
        sandbox.agent_join(cid, "Scale Agent")
    for n in range(AGENT_MESSAGES):
        for cid in chats:
            sandbox.agent_send(cid, f"{cid} agent {n}")
    expected = len(chats) * (AGENT_MESSAGES + 1)
    receiver.wait_for(before + expected, timeout=120)
    seconds = time.perf_counter() - started
    events = [e for _, e in receiver.arrivals[before:]]
    texts: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.get("kind") == "agent_message":
            texts[event["handover"]].append(event["data"]["text"])
    got = [t for per in texts.values() for t in per]
    duplicated = sum(n - 1 for n in Counter(got).values() if n > 1)
    lost = len(chats) * AGENT_MESSAGES - len(set(got))
    reordered = sum(
        1
        for per in texts.values()
        for a, b in zip(per, sorted(per, key=lambda t: int(t.rsplit(" ", 1)[1])), strict=True)
        if a != b
    )
    seqs = Counter((e.get("handover"), e.get("seq")) for e in events)
    row(
        "agent → callback, 2 relay replicas",
        "",
        f"{len(events) / seconds:,.0f}/s",
        "",
        "",
        f"{lost}/{duplicated}/{reordered}",
    )
    row(
        f"  streams held twice: {twice} of {len(by_conversation)}",
        f"events {len(events):,}/{expected:,}",
        f"callbacks twice: {sum(n - 1 for n in seqs.values() if n > 1)}",
    )
    if len(chats) < handovers:
        note(f"only {len(chats)} of {handovers} conversations exist at the sandbox")
