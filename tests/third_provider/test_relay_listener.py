"""The Test Desk's relay listener: replicas divide the desk's open handovers through
``endpoints.handovers.relay_ownership``, each reads the conversations it owns, and what the
desk says is recorded once, the end of the conversation included."""

from __future__ import annotations

import pytest

from endpoints.handovers.services import handover_start
from endpoints.models import EventKind, Handover, HandoverEvent
from tests.desk_provider.relay import DeskRelay

pytestmark = pytest.mark.django_db(transaction=True)


def started(world, broker, capture, session: str) -> Handover:
    with capture(execute=True):
        handover, _ = handover_start(endpoint=world.endpoint, user_id="u", session_id=session)
    broker.run(capture)  # the outbox creates the desk conversation
    return Handover.objects.get(pk=handover.pk)


def test_two_replicas_share_the_handovers_and_record_each_event_once(
    world, desk, broker, django_capture_on_commit_callbacks
):
    handovers = [
        started(world, broker, django_capture_on_commit_callbacks, f"s-{n}") for n in (1, 2)
    ]
    for handover in handovers:
        desk.agent_say(str(handover.public_id), f"Hello {handover.session_id}")
    first, second = (DeskRelay(providers=("desk",), poll_seconds=0.1) for _ in range(2))
    first.poll()  # alone: it owns both, and reads both
    for _ in range(2):  # the second replica arrives: the first lets one go, it claims it
        second.poll()
        first.poll()
    owners = set(Handover.objects.values_list("relay_owner", flat=True))
    assert owners == {first.token, second.token}
    assert set(first.cursors).isdisjoint(second.cursors)
    messages = HandoverEvent.objects.filter(kind=EventKind.AGENT_MESSAGE)
    assert sorted(messages.values_list("data__text", flat=True)) == ["Hello s-1", "Hello s-2"]

    taken = next(h for h in handovers if h.pk in second.cursors)
    desk.agent_end(str(taken.public_id))
    second.poll()
    taken.refresh_from_db()
    assert (taken.status, taken.end_reason) == ("ended", "agent_left")
    assert desk.received("POST", "end") == []  # the agent ended it: nothing to leave
    assert messages.count() == 2
