"""Scenario 9: the web chat guest API's reads (the relay's member lists and history, after
each reconnect) answering 429 with ``Retry-After``, then 503, then slowly, while the
event streams are dropped and agents go on writing: the relay retries each read in place
(nothing sooner than ``Retry-After``), backs off its reconnects (no reconnect every
second), and every agent message reaches the channel once and in order afterwards."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from genesys_sandbox.state import MAX_REQUEST_LOG
from tests.e2e.conftest import wait_for
from tests.faults.helpers import (
    channel_texts,
    delivery_problems,
    poll,
    start_handovers,
    webchat_endpoint,
    webchat_ids,
)
from tests.faults.sizes import SIZE
from tests.faults.test_genesys_faults import max_attempts_within

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SCENARIO = 9  # its number in the README's table and the figures

GUEST = "/api/v2/webchat/guest/conversations/"
RETRY_AFTER = 1
#: The relay's reconnect backoff (``ConversationStream``'s defaults).
RECONNECT_BASE, RECONNECT_CAP = 1.0, 30.0


def at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))


def conversation_of(path: str) -> str:
    return path.removeprefix(GUEST).split("/", 1)[0]


def test_guest_api_reads_failing_while_streams_drop_cost_no_hot_loop_and_no_message(
    faults, sandbox, channel, figures
):
    endpoint = webchat_endpoint(sandbox, callback_url=channel.url)
    handovers = start_handovers(endpoint, SIZE.stream_handovers)
    cids = webchat_ids(handovers, faults)
    for cid in cids.values():
        sandbox.agent_join(cid, name="Alex Agent")
    wait_for(
        lambda: len(channel.events()) >= len(handovers),
        what="every agent_joined at the channel",
        stack=faults,
    )
    sent: dict[int, list[str]] = {handover.pk: [] for handover in handovers}

    def agents_send(phase: str) -> None:
        for handover in handovers:
            text = f"{phase} h{handover.pk} {len(sent[handover.pk]):03}"
            sandbox.agent_send(cids[handover.pk], text)
            sent[handover.pk].append(text)

    agents_send("hello")
    phases = [
        ("rate_limited", SIZE.stream_rate_limited_seconds, {"status": 429, "retry_after": 1}),
        ("unavailable", SIZE.stream_unavailable_seconds, {"status": 503}),
        ("slow", SIZE.stream_slow_seconds, {"delay_seconds": 3.5}),  # read timeout: 3 s
    ]
    windows: dict[str, tuple[datetime, datetime]] = {}
    for name, seconds, fault in phases:
        begin = datetime.now(UTC)
        sandbox.add_fault(GUEST, method="GET", for_seconds=seconds, **fault)
        sandbox.drop_streams()  # the relay reconnects, and catches up by reading
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            agents_send(name)
            time.sleep(0.5)
        windows[name] = (begin, begin + timedelta(seconds=seconds))
    faults_over = datetime.now(UTC)
    agents_send("after")

    def all_at_channel() -> bool:
        return all(len(channel_texts(channel, h)) >= len(sent[h.pk]) for h in handovers)

    settled = poll(all_at_channel, timeout=60)
    time.sleep(1)  # room for a duplicate to show up

    received = {h.pk: channel_texts(channel, h) for h in handovers}
    reads = [entry for entry in sandbox.requests(GUEST) if entry["method"] == "GET"]
    connects = [entry for entry in sandbox.requests("/channels/") if entry["method"] == "GET"]
    assert sandbox.request_count() <= MAX_REQUEST_LOG, "the sandbox's request log was truncated"
    begin, _ = windows["rate_limited"]
    reconnects = [entry for entry in connects if begin <= at(entry) <= faults_over]
    per_conversation = len(reconnects) / len(handovers)
    fault_seconds = (faults_over - begin).total_seconds()
    # Each handover's reconnects within the faults: at most what the backoff allows, plus
    # the one the drop of each phase causes.
    bound = max_attempts_within(fault_seconds, base=RECONNECT_BASE, cap=RECONNECT_CAP) + len(phases)
    gap = shortest_gap_after(reads, *windows["rate_limited"])

    figures.compare(sent, received)
    figures["reads_per_phase"] = {
        name: sum(1 for entry in reads if start <= at(entry) <= end)
        for name, (start, end) in windows.items()
    }
    figures["reconnects_per_handover"] = per_conversation
    figures["reconnect_bound"] = bound
    figures["shortest_gap_after_429"] = gap

    problems = [] if settled else ["the agent messages did not all reach the channel"]
    problems += delivery_problems(sent, received, where="at the channel")
    if per_conversation > bound:
        problems.append(
            f"{per_conversation:.1f} reconnects per handover during the faults (at most "
            f"{bound}: a reconnect loop)"
        )
    if gap is not None and gap < RETRY_AFTER - 0.05:
        problems.append(f"a conversation's next read came {gap:.2f} s after a 429 (Retry-After 1)")
    assert not problems, "\n".join(problems)


def shortest_gap_after(reads: list[dict[str, Any]], begin: datetime, end: datetime) -> float | None:
    """The shortest wait of a conversation's reads after one answered 429 (inside the
    window) before its next read."""
    margin = timedelta(seconds=0.05)
    by_conversation: dict[str, list[datetime]] = defaultdict(list)
    for entry in reads:
        by_conversation[conversation_of(entry["path"])].append(at(entry))
    gaps = [
        (later - first).total_seconds()
        for times in by_conversation.values()
        for first, later in zip(sorted(times), sorted(times)[1:], strict=False)
        if begin + margin <= first <= end - margin
    ]
    return min(gaps) if gaps else None
