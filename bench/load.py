"""An HTTP load of concurrent clients for a fixed time (asyncio and aiohttp, in this process).

The load shares the machine's two cores with the server: a request costs the client a
fraction of a millisecond, which caps what the fastest floors can show (say so next to them).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from bench.stats import percentile


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    queries: Counter[int] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, pct: float) -> float:
        return percentile(self.latencies, pct)

    @property
    def queries_per_request(self) -> str:
        """``7`` when every request made the same number, else ``5-9``."""
        if not self.queries:
            return "?"
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}-{high}"


async def _load(
    url: Callable[[int], str],
    headers: dict[str, str],
    seconds: float,
    concurrency: int,
    method: str,
    body: Callable[[int], dict] | None,
) -> LoadResult:
    result = LoadResult(seconds)
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def client() -> None:
            while time.perf_counter() < deadline:
                n = next(counter)
                started = time.perf_counter()
                async with session.request(
                    method, url(n), headers=headers, json=body(n) if body else None
                ) as response:
                    await response.read()
                result.latencies.append(time.perf_counter() - started)
                result.statuses[response.status] += 1
                if "X-Bench-Queries" in response.headers:
                    result.queries[int(response.headers["X-Bench-Queries"])] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


def merged(results: list[LoadResult]) -> LoadResult:
    """Several loads of the same URL as one (their times and requests added up)."""
    total = LoadResult(sum(r.seconds for r in results))
    for result in results:
        total.latencies += result.latencies
        total.statuses.update(result.statuses)
        total.queries.update(result.queries)
    return total


def run_load(
    url: str | Callable[[int], str],
    *,
    headers: dict[str, str] | None = None,
    seconds: float,
    concurrency: int = 4,
    warmup: float = 0.0,
    method: str = "GET",
    body: Callable[[int], dict] | None = None,
) -> LoadResult:
    """``concurrency`` clients request ``url`` (or ``url(n)`` for the n-th request) as fast
    as answered for ``seconds``, after ``warmup`` seconds whose requests do not count."""
    target = url if callable(url) else (lambda n: url)
    if warmup:
        asyncio.run(_load(target, headers or {}, warmup, concurrency, method, body))
    return asyncio.run(_load(target, headers or {}, seconds, concurrency, method, body))
