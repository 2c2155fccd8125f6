"""Scenario 4: the relay process killed with ``kill -9`` and started again while agents
send: every agent message reaches the channel's callback exactly once, in order. Then two
relay replicas: each event stream is held once, each event recorded once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from endpoints.models import HandoverEvent
from tests.e2e.conftest import wait_for
from tests.faults.helpers import (
    agent_message_texts,
    channel_texts,
    delivery_problems,
    poll,
    start_handovers,
    webchat_endpoint,
    webchat_ids,
)
from tests.faults.sizes import SIZE

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SCENARIO = 4  # its number in the README's table and the figures


def test_agent_messages_reach_the_channel_once_across_relay_crashes_and_replicas(
    faults, sandbox, channel, figures
):
    endpoint = webchat_endpoint(sandbox, callback_url=channel.url)
    handovers = start_handovers(endpoint, SIZE.relay_handovers)
    cids = webchat_ids(handovers, faults)
    for cid in cids.values():
        sandbox.agent_join(cid, name="Alex Agent")
    wait_for(
        lambda: len(channel.events()) >= len(handovers),
        what="every agent_joined at the channel",
        stack=faults,
    )
    sent: dict[Any, list[str]] = {handover.pk: [] for handover in handovers}

    def agents_send(count: int, phase: str, pause: float) -> None:
        for n in range(count):
            for handover in handovers:
                text = f"{phase} h{handover.pk} {n:03}"
                sandbox.agent_send(cids[handover.pk], text)
                sent[handover.pk].append(text)
            time.sleep(pause)

    def all_at_channel() -> bool:
        return all(len(channel_texts(channel, h)) >= len(sent[h.pk]) for h in handovers)

    # The crash: a third before, a third while the relay is down, a third after.
    relay = faults.relay
    third = max(1, SIZE.relay_agent_messages // 3)
    agents_send(third, "before", 0.05)
    relay.kill()
    agents_send(third, "down", SIZE.relay_down_seconds / third)
    restarted = time.monotonic()
    faults.restart(relay)
    agents_send(SIZE.relay_agent_messages - 2 * third, "after", 0.05)
    crash_ok = poll(all_at_channel, timeout=30)
    recovery_seconds = time.monotonic() - restarted

    # Two replicas.
    replica = faults.start_relay()
    try:
        streams = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # both replicas have looked for streams by now
            streams.append(sandbox.state()["open_streams"])
            time.sleep(0.3)
        agents_send(SIZE.replica_agent_messages, "replicas", 0.1)
        replicas_ok = poll(all_at_channel, timeout=30)
        streams.append(sandbox.state()["open_streams"])
    finally:
        replica.stop()
        faults.relays.remove(replica)
    time.sleep(1)  # a late duplicate callback lands now

    at_channel = {h.pk: channel_texts(channel, h) for h in handovers}
    recorded = {h.pk: agent_message_texts(h) for h in handovers}
    figures.compare(sent, at_channel)
    figures["relay_recovery_seconds"] = recovery_seconds
    figures["open_streams_max"] = max(streams)
    figures["open_streams_wanted"] = len(handovers)
    figures["events_recorded"] = sum(len(texts) for texts in recorded.values())
    figures["callbacks"] = len(channel.received)
    figures["channel_attempts"] = channel.attempts
    figures["other_events"] = (
        HandoverEvent.objects.filter(handover__in=sent).exclude(kind="agent_message").count()
    )

    problems = []
    if not crash_ok:
        problems.append("agent messages sent around the relay crash did not all arrive in 30 s")
    if not replicas_ok:
        problems.append("agent messages sent with two replicas did not all arrive in 30 s")
    problems += delivery_problems(sent, at_channel, where="at the channel")
    problems += delivery_problems(sent, recorded, where="recorded")
    if max(streams) != len(handovers):
        problems.append(
            f"two replicas held up to {max(streams)} event streams for {len(handovers)} "
            f"conversations (samples {streams}): each should be held once"
        )
    assert not problems, "\n".join(problems)
