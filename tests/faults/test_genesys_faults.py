"""Scenario 5: Genesys (the sandbox, Open Messaging with the OAuth client) answering 429
with ``Retry-After``, then 503, then slowly, with every token expired meanwhile: the relay
backs off (the sandbox counts its requests: no hot loop, nothing sooner than
``Retry-After``), fetches one new token for the connection, and delivers everything
afterwards, once and in order."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from endpoints.handovers.services import handover_message_add
from genesys_sandbox.state import MAX_REQUEST_LOG
from tests.faults.helpers import (
    delivery_problems,
    extra_attempts,
    inbound_texts,
    om_ids,
    om_settings,
    outbox_settled,
    outbox_statuses,
    poll,
    start_handovers,
)
from tests.faults.sizes import SIZE

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SCENARIO = 5  # its number in the README's table and the figures

RETRY_AFTER = 1


def max_attempts_within(seconds: float, *, base: float, cap: float) -> int:
    """The most attempts the relay's backoff allows in ``seconds`` (each wait at its
    shortest: half its ceiling)."""
    attempts, waited = 1, 0.0
    while True:
        waited += min(cap, base * 2 ** (attempts - 1)) / 2
        if waited > seconds:
            return attempts
        attempts += 1


def test_rate_limits_outages_slow_answers_and_an_expired_token_are_ridden_out(
    faults, sandbox, settings, figures
):
    om = om_settings(sandbox, faults.web_url)
    handovers = start_handovers(om.endpoint, SIZE.om_handovers)
    sent: dict[int, list[str]] = {handover.pk: [] for handover in handovers}

    def send(phase: str) -> None:
        for handover in handovers:
            text = f"{phase} h{handover.pk} {len(sent[handover.pk]):03}"
            handover_message_add(
                handover=handover, text=text, client_message_id=f"{len(sent[handover.pk])}"
            )
            sent[handover.pk].append(text)

    send("hello")
    cids = om_ids(handovers, faults)
    assert poll(lambda: outbox_settled(sent), timeout=30)
    inbound = f"/api/v2/conversations/messages/{sandbox.open_integration_id}/inbound/open/message"
    tokens_before = sandbox.request_count("/oauth/token")

    phases = [
        ("rate_limited", SIZE.om_rate_limited_seconds, {"status": 429, "retry_after": RETRY_AFTER}),
        ("unavailable", SIZE.om_unavailable_seconds, {"status": 503}),
        ("slow", SIZE.om_slow_seconds, {"delay_seconds": 1.5}),
    ]
    windows: dict[str, tuple[datetime, datetime]] = {}
    for name, seconds, fault in phases:
        if name == "slow":
            sandbox.expire_tokens()  # the next request that gets through is refused: 401
        begin = datetime.now(UTC)
        sandbox.add_fault(inbound, method="POST", for_seconds=seconds, **fault)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            send(name)
            time.sleep(0.5)
        windows[name] = (begin, begin + timedelta(seconds=seconds))
    send("after")
    settled = poll(lambda: outbox_settled(sent), timeout=60)
    time.sleep(1)

    by_conversation = inbound_texts(sandbox)
    received = {pk: by_conversation.get(cids[pk], []) for pk in sent}
    token_requests = sandbox.request_count("/oauth/token") - tokens_before
    log = [
        (datetime.fromisoformat(entry["at"].replace("Z", "+00:00")), entry)
        for entry in sandbox.requests(inbound)
        if entry["method"] == "POST"
    ]
    assert sandbox.request_count() <= MAX_REQUEST_LOG, "the sandbox's request log was truncated"
    posts = {
        name: sum(1 for at, _ in log if begin <= at <= end)
        for name, (begin, end) in windows.items()
    }
    gap = shortest_gap_after(log, *windows["rate_limited"])
    senders = len(handovers)
    bounds = {
        # One request per Retry-After per handover, and the one in flight as it began.
        "rate_limited": senders * (int(SIZE.om_rate_limited_seconds / RETRY_AFTER) + 2),
        "unavailable": senders
        * (
            max_attempts_within(
                SIZE.om_unavailable_seconds,
                base=settings.RELAY_BACKOFF_SECONDS,
                cap=settings.RELAY_BACKOFF_MAX_SECONDS,
            )
            + 2
        ),
    }
    figures.compare(sent, received)
    figures["posts_per_phase"] = posts
    figures["post_bounds"] = bounds
    figures["shortest_gap_after_429"] = gap
    figures["token_requests_after_expiry"] = token_requests
    figures["outbox"] = outbox_statuses(sent)
    figures["extra_attempts"] = extra_attempts(sent)

    problems = [] if settled else [f"the outbox did not settle: {outbox_statuses(sent)}"]
    problems += delivery_problems(sent, received)
    problems += [
        f"{posts[name]} inbound posts during the {name} phase (at most {bound}: a hot loop)"
        for name, bound in bounds.items()
        if posts[name] > bound
    ]
    if gap is not None and gap < RETRY_AFTER - 0.05:
        problems.append(f"a handover's next post came {gap:.2f} s after a 429 (Retry-After 1)")
    if token_requests != 1:
        problems.append(f"{token_requests} token requests after the expiry (want 1: one refresh)")
    assert not problems, "\n".join(problems)


def shortest_gap_after(
    log: list[tuple[datetime, dict[str, Any]]], begin: datetime, end: datetime
) -> float | None:
    """The shortest wait of a handover (its ``channel.from.id``) after a post answered 429
    (one inside the window) before its next post."""
    margin = timedelta(seconds=0.05)
    by_sender: dict[str, list[datetime]] = defaultdict(list)
    for at, entry in log:
        sender = ((entry.get("json") or {}).get("channel") or {}).get("from", {}).get("id")
        if sender:
            by_sender[sender].append(at)
    gaps = [
        (later - at).total_seconds()
        for times in by_sender.values()
        for at, later in zip(sorted(times), sorted(times)[1:], strict=False)
        if begin + margin <= at <= end - margin
    ]
    return min(gaps) if gaps else None
