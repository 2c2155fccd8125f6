"""Many handovers driven at once through the runtime API, and what reached the sandbox:
shared by the throughput and scale-out benchmarks.

Each handover's messages are sent one after the other (a user does not send the next
before the previous was accepted), all handovers in turn over ``concurrency`` connections.
At the sandbox every conversation's customer messages must be exactly those sent, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.stats import percentile

GUEST = "/api/v2/webchat/guest/conversations"
#: Seconds one API call may take before the benchmark gives up (it then says so).
REQUEST_TIMEOUT = 60


@contextlib.asynccontextmanager
async def _answer(request: Any, what: str) -> AsyncIterator[aiohttp.ClientResponse]:
    """The response of ``request``; a timeout says which call did not answer."""
    try:
        async with request as response:
            yield response
    except TimeoutError:
        raise RuntimeError(
            f"the runtime API did not answer {what} in {REQUEST_TIMEOUT} s"
        ) from None


@dataclass
class Sent:
    started: float = 0.0  # time.time() of the first message sent
    accepted: float = 0.0  # time.time() when the last one was accepted
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    queries: Counter[int] = field(default_factory=Counter)
    texts: dict[str, list[str]] = field(default_factory=dict)  # handover id → texts in order

    @property
    def count(self) -> int:
        return sum(len(texts) for texts in self.texts.values())

    @property
    def accept_rate(self) -> float:
        return self.count / (self.accepted - self.started)


async def _start_all(urls: list[str], key: str, endpoint: str, count: int, concurrency: int):
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
    headers = {"Authorization": f"Api-Key {key}"}
    web = itertools.cycle(urls)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=timeout
    ) as session:

        async def start(n: int) -> str:
            body = {"user_id": f"user-{n}", "session_id": str(uuid.uuid4())}
            url = f"{next(web)}/api/v1/endpoints/{endpoint}/handovers/"
            async with _answer(session.post(url, json=body), "a start") as response:
                if response.status != 201:
                    raise RuntimeError(f"start answered {response.status}: {await response.text()}")
                return (await response.json())["id"]

        return await asyncio.gather(*(start(n) for n in range(count)))


def start_handovers(
    urls: list[str], key: str, endpoint: str, count: int, concurrency: int = 8
) -> list[str]:
    """``count`` handovers started at once (spread over the web processes); their ids."""
    return asyncio.run(_start_all(urls, key, endpoint, count, concurrency))


async def _send_all(
    urls: list[str], key: str, handovers: list[str], per_handover: int, concurrency: int
) -> Sent:
    """``concurrency`` clients take the handovers in turn from one queue: a handover is back
    in the queue once its message was answered, so each sends in order, all get their
    turn, and no request waits in the client for a connection (what is timed is the API)."""
    sent = Sent(texts={h: [] for h in handovers})
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
    headers = {"Authorization": f"Api-Key {key}"}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    ready: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for index in range(len(handovers)):
        ready.put_nowait((index, 0))
    left = len(handovers)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=timeout
    ) as session:

        async def client() -> None:
            nonlocal left
            while left:
                try:
                    index, n = await asyncio.wait_for(ready.get(), timeout=1)
                except TimeoutError:
                    continue
                handover = handovers[index]
                text = f"h{index:03} m{n:05}"
                body = {"text": text, "client_message_id": f"{handover}:{n}"}
                url = f"{urls[index % len(urls)]}/api/v1/handovers/{handover}/messages/"
                began = time.perf_counter()
                async with _answer(session.post(url, json=body), "a message") as response:
                    await response.read()
                sent.latencies.append(time.perf_counter() - began)
                sent.statuses[response.status] += 1
                if "X-Bench-Queries" in response.headers:
                    sent.queries[int(response.headers["X-Bench-Queries"])] += 1
                if response.status == 202:
                    sent.texts[handover].append(text)
                if n + 1 < per_handover:
                    ready.put_nowait((index, n + 1))
                else:
                    left -= 1

        sent.started = time.time()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        sent.accepted = time.time()
    return sent


def send_messages(
    urls: list[str], key: str, handovers: list[str], per_handover: int, concurrency: int = 8
) -> Sent:
    return asyncio.run(_send_all(urls, key, handovers, per_handover, concurrency))


def guest_messages_at(sandbox: Any) -> int:
    """Customer messages the sandbox has received so far (POSTs to the guest API's members)."""
    return sandbox.request_count(GUEST + "/", method="POST")


@dataclass
class Verdict:
    received: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    last_arrival: float = 0.0  # time.time()


def verify(sandbox: Any, sent: Sent) -> Verdict:
    """Compare each conversation's customer messages at the sandbox with what was sent.

    A conversation is matched to its handover by the texts (each text names its handover).
    """
    from datetime import datetime

    expected: dict[str, list[str]] = {}
    for texts in sent.texts.values():
        if texts:
            expected[texts[0].split()[0]] = texts
    verdict = Verdict()
    seen: set[str] = set()
    for conversation in sandbox.conversations():
        customer = conversation["customer"]["id"]
        got = [m for m in conversation["messages"] if m["sender"]["id"] == customer]
        if not got:
            continue
        bodies = [m["body"] for m in got]
        key = bodies[0].split()[0]
        want = expected.get(key, [])
        seen.add(key)
        verdict.received += len(bodies)
        verdict.duplicated += sum(n - 1 for n in Counter(bodies).values() if n > 1)
        verdict.lost += len(set(want) - set(bodies))
        # Reordered: first arrivals of the wanted texts that are not where the order puts them.
        wanted = set(want)
        firsts = list(dict.fromkeys(b for b in bodies if b in wanted))
        in_order = [text for text in want if text in set(firsts)]
        verdict.reordered += sum(1 for a, b in zip(firsts, in_order, strict=True) if a != b)
        stamp = max(m["timestamp"] for m in got)
        verdict.last_arrival = max(
            verdict.last_arrival, datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        )
    verdict.lost += sum(len(texts) for key, texts in expected.items() if key not in seen)
    return verdict


def p(values: list[float], pct: float) -> float:
    return percentile(values, pct)
