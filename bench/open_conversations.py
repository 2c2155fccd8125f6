"""Open conversations one relay process holds: web chat event streams, then Open Messaging
handovers (notification topics), at each of ``size.open_steps`` open handovers; its memory
per conversation (RSS growth over the relay with none) and its CPU while nothing happens.

The conversations are made straight at the sandbox and their handovers written as the
worker would have (``bench/seed.py open``): starting thousands through the API would take
minutes and is measured by the throughput benchmark. What is *held* is checked two ways:
the sandbox's open event-stream sockets, and a probe: agents join a sample of the
conversations, and the joins that reach the channel's callback within the probe's time
were relayed.
"""

from __future__ import annotations

import json
import random
import secrets
import time

from bench import conversations
from bench.receiver import CallbackReceiver
from bench.services import Services
from bench.sizes import Size
from bench.stack import BenchStack, cpu_seconds, rss_kib
from bench.stats import heading, note, row

IDLE_SECONDS = 10.0
SETTLE_TIMEOUT = 90.0
#: The longest the catch-up reads may go on after what is held settled.
CATCH_UP_TIMEOUT = 300.0
PROBES = 20
PROBE_SECONDS = 15.0


def run(services: Services, size: Size) -> None:
    heading("Open conversations one relay process holds")
    for kind in ("webchat", "om"):
        secret = secrets.token_hex(24)
        with BenchStack(f"open_{kind}", services) as stack, CallbackReceiver(secret) as receiver:
            measure(stack, receiver, secret, kind, size)


def measure(stack: BenchStack, receiver: CallbackReceiver, secret: str, kind: str, size: Size):
    sandbox = stack.start_sandbox()
    sandbox.settings(heartbeat_seconds=30)
    args = ["--callback-url", receiver.url, "--secret", secret]
    if kind == "om":
        args += ["--webchat", "0", "--open-messaging"]
    seeded = stack.seed("relay", *args)
    endpoint = seeded["webchat"][0] if kind == "webchat" else seeded["open_messaging"]
    if kind == "om":
        url = stack.start_web()
        sandbox.put_open_integration(url + seeded["webhook_path"], seeded["webhook_secret"])
    stack.start_workers(1)
    [relay] = stack.start_relays(1)
    time.sleep(2)
    baseline = rss_kib(relay.pid)
    title = "web chat streams" if kind == "webchat" else "Open Messaging handovers"
    row(f"-- {title}", "open", "held", "KiB/conv", "idle CPU", "probe")
    made: list[dict] = []
    handovers: list[str] = []
    for step in size.open_steps:
        new = step - len(made)
        fresh = (
            conversations.web_chats(sandbox.url, new)
            if kind == "webchat"
            else conversations.open_messaging(sandbox.url, new)
        )
        path = stack.log_dir / f"open-{step}.json"
        path.write_text(json.dumps({"endpoint": endpoint, "kind": kind, "conversations": fresh}))
        handovers += stack.seed("open", "--file", str(path))["handovers"]
        made += fresh
        settling = time.monotonic()
        held = settle(sandbox, kind, step)
        # Each new stream or topic is caught up once (its history read): idle is after that.
        caught_up = quiet(sandbox)
        settled = time.monotonic() - settling
        rss = rss_kib(relay.pid)
        sandbox.clear_requests()
        cpu_before, t0 = cpu_seconds(relay.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        cpu = (cpu_seconds(relay.pid) - cpu_before) / (time.monotonic() - t0)
        polls = sandbox.request_count("/api/v2/", method="GET") / IDLE_SECONDS
        sample = random.sample(fresh, min(PROBES, len(fresh)))
        reached = probe(sandbox, receiver, kind, sample)
        row(
            f"{step:,} open",
            f"{step:,}",
            "?" if held is None else f"{held:,}",
            f"{(rss - baseline) / step:,.0f}",
            f"{cpu:.0%}",
            f"{reached}/{len(sample)}",
        )
        if caught_up:
            note(f"at {step:,}: held and caught up {settled:,.0f} s after the handovers' writing")
        else:
            note(f"at {step:,}: still reading Genesys {CATCH_UP_TIMEOUT:g} s after settling")
        if polls >= 1:
            note(
                f"at {step:,}: the relay sent {polls:,.0f} GET/s to Genesys while idle: "
                + ", ".join(f"{path} x{n}" for path, n in shapes(sandbox))
            )
    note(
        f"{title}: relay RSS {baseline / 1024:,.0f} MiB with none open; target ≥ 5,000 held "
        "at ≤ 50 KB each; the probe counts agent joins that reached the callback "
        f"within {PROBE_SECONDS:g} s"
    )


def shapes(sandbox) -> list[tuple[str, int]]:
    """The commonest GET paths of the request log, ids blanked."""
    import re
    from collections import Counter

    paths = Counter(
        re.sub(r"[0-9a-f-]{36}", "{id}", r["path"])
        for r in sandbox.requests()
        if r["method"] == "GET"
    )
    return paths.most_common(3)


def held_now(sandbox, kind: str) -> int | None:
    """Web chat: event-stream sockets open at the sandbox. Open Messaging: the topics of
    the notification channels the relay has a WebSocket open on (the sandbox's state; its
    request log keeps only the last 1,000 requests, fewer than a catch-up of 5,000 makes)."""
    state = sandbox.state()
    if kind == "webchat":
        return state["open_streams"]
    return sum(c["topics"] for c in state["notification_channels"] if c["connected"])


def quiet(sandbox, *, seconds: float = 3.0) -> bool:
    """Wait until the relay sends Genesys no GET for ``seconds`` (its catch-up reads are
    done), at most ``CATCH_UP_TIMEOUT``; whether it went quiet."""
    deadline = time.monotonic() + CATCH_UP_TIMEOUT
    while time.monotonic() < deadline:
        sandbox.clear_requests()
        time.sleep(seconds)
        if sandbox.request_count("/api/v2/", method="GET") == 0:
            return True
    return False


def settle(sandbox, kind: str, wanted: int) -> int | None:
    """Wait until what the relay holds stops growing (or reaches ``wanted``)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last, steady_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        held = held_now(sandbox, kind)
        if held is not None and held >= wanted:
            return held
        if held != last:
            last, steady_since = held, time.monotonic()
        elif time.monotonic() - steady_since > 8:
            return held
        time.sleep(1)
    return last


def probe(sandbox, receiver: CallbackReceiver, kind: str, sample: list[dict]) -> int:
    """Agents join ``sample``; how many joins reached the channel's callback in time."""
    before = len(receiver.arrivals)
    for conversation in sample:
        if kind == "webchat":
            sandbox.agent_join(conversation["conversation_id"], "Probe Agent")
        else:
            sandbox.om_agent_join(conversation["conversation_id"], "Probe Agent")
    receiver.wait_for(before + len(sample), timeout=PROBE_SECONDS)
    joined = [e for _, e in receiver.arrivals[before:] if e.get("kind") == "agent_joined"]
    return len(joined)
