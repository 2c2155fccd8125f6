"""Handovers across statuses, end reasons and hours, with events: the overview's test data.

Times are relative to ``now``; ``EXPECTED`` holds the figures worked out by hand for all
endpoints when ``now`` is 12:30 in the day (so that every "today" handover is today).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from endpoints.models import Endpoint, EventKind, Handover, HandoverStatus
from endpoints.models.handover import DeliveryStatus
from tests.factories import HandoverEventFactory, HandoverFactory, OutboundMessageFactory

M = timedelta(minutes=1)
S = timedelta(seconds=1)


@dataclass(frozen=True)
class Seed:
    endpoint: str  # "A" or "B"
    ago: timedelta  # started this long before now
    status: str
    reason: str = ""
    ended_after: timedelta | None = None
    joined_after: timedelta | None = None  # the agent_joined event, after the start
    reply_after: timedelta | None = None  # the first agent_message event
    failed_message: bool = False
    failed_callback: bool = False


SEEDS = [
    Seed("A", 30 * M, "active", joined_after=60 * S, reply_after=120 * S, failed_message=True),
    Seed("A", 10 * M, "queued"),
    Seed("A", 20 * M, "queued"),
    Seed("A", 5 * M, "starting"),
    Seed("A", 120 * M, "ended", "agent_left", 60 * M, 180 * S, 300 * S, failed_callback=True),
    Seed("A", 180 * M, "ended", "expired", 60 * M),
    Seed("A", 3 * 24 * 60 * M, "ended", "user_ended", 10 * M, 600 * S, 900 * S),
    Seed("A", 10 * 24 * 60 * M, "ended", "error", 1 * M),
    Seed("B", 60 * M, "ended", "staff_ended", 30 * M, 30 * S),
]

#: All endpoints, ``now`` at 12:30.
EXPECTED = {
    "starting": 1,
    "queued": 2,
    "active": 1,
    "longest_wait": 20 * M,
    "median_wait": 15 * M,
    "failed_messages": 1,
    "failed_callbacks": 1,
    "today": {
        "started": 7,
        "reached_agent": 3,
        "ended": {"agent_left": 1, "user_ended": 0, "staff_ended": 1, "expired": 1, "error": 0},
        # agent: 30, 60, 180 s; reply: 120, 300 s
        "time_to_agent": (60 * S, 156 * S),
        "time_to_reply": (210 * S, 282 * S),
    },
    "last 7 days": {
        "started": 8,
        "reached_agent": 4,
        "ended": {"agent_left": 1, "user_ended": 1, "staff_ended": 1, "expired": 1, "error": 0},
        # agent: 30, 60, 180, 600 s; reply: 120, 300, 900 s
        "time_to_agent": (120 * S, 474 * S),
        "time_to_reply": (300 * S, 780 * S),
    },
}


def seed(now: datetime, endpoints: dict[str, Endpoint]) -> list[Handover]:
    handovers = []
    for index, spec in enumerate(SEEDS):
        started = now - spec.ago
        handover = HandoverFactory(
            endpoint=endpoints[spec.endpoint],
            status=spec.status,
            started_at=started,
            last_activity_at=started,
            end_reason=spec.reason,
            ended_at=None if spec.ended_after is None else started + spec.ended_after,
            agent_name="Alex" if spec.joined_after else "",
            session_id=f"overview-{index}",
        )
        if spec.joined_after is not None:
            HandoverEventFactory(
                handover=handover,
                kind=EventKind.AGENT_JOINED,
                data={"agent_name": "Alex"},
                created_at=started + spec.joined_after,
                delivery=DeliveryStatus.FAILED if spec.failed_callback else DeliveryStatus.NONE,
            )
        if spec.reply_after is not None:
            for extra in (0 * S, 5 * S):  # only the first reply counts
                HandoverEventFactory(
                    handover=handover, created_at=started + spec.reply_after + extra
                )
        if spec.failed_message:
            OutboundMessageFactory(handover=handover, status="failed", created_at=started)
        handovers.append(handover)
    assert all(h.status in HandoverStatus.values for h in handovers)
    return handovers
