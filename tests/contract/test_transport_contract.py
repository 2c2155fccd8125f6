"""The transport contract: what every ``HandoverTransport`` must do for the relay's outbox.

Each test runs against every transport (``harness``: Genesys web chat and Open Messaging
on the sandbox, the Test Desk on the fake desk), over real HTTP. "Done", for an end, is
what the outbox takes as done: ``end`` returns, or raises ``ConversationOver``.
"""

from __future__ import annotations

import contextlib

import pytest

from endpoints.handovers.transports import (
    ConversationOver,
    PermanentFailure,
    TemporaryFailure,
    UnknownOutcome,
)
from tests.contract.harnesses import fresh, mark_sent, queue
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.django_db


def end_is_done(harness, handover) -> None:
    with contextlib.suppress(ConversationOver):  # the outbox marks the disconnect done
        harness.transport.end(fresh(handover))


def test_send_returns_the_remote_id_of_the_stored_message(harness):
    handover = harness.open_handover()
    row = queue(handover, "Hello, is anyone there?")
    remote_id = harness.send(handover, row)
    assert remote_id
    assert harness.received(handover)[-1] == (remote_id, "Hello, is anyone there?")


def test_several_sends_arrive_once_each_in_order(harness):
    handover = harness.open_handover()
    texts = [f"message {n}" for n in range(1, 6)]
    ids = []
    for text in texts:
        row = queue(handover, text)
        ids.append(harness.send(handover, row))
        mark_sent(row, ids[-1])
    assert harness.received(handover)[1:] == list(zip(ids, texts, strict=True))
    assert len(set(ids)) == len(ids)


def test_start_twice_makes_one_conversation(harness):
    handover = harness.open_handover()
    before = harness.conversations()
    harness.transport.start(fresh(handover))
    assert harness.conversations() == before == 1


def test_find_sent_finds_a_message_that_arrived_after_a_timeout(harness):
    handover = harness.open_handover()
    harness.answer_next_send_late(handover)
    row = queue(handover, "Did this arrive?")
    with pytest.raises(UnknownOutcome):
        harness.send(handover, row)
    wait_for(
        lambda: [text for _, text in harness.received(handover)][-1:] == ["Did this arrive?"],
        what="the late send to be stored",
    )
    stored_id, _ = harness.received(handover)[-1]
    assert harness.transport.find_sent(fresh(handover), row) == stored_id


def test_find_sent_is_none_for_a_message_that_did_not_arrive(harness):
    handover = harness.open_handover()
    harness.fail_sends(handover, 503)
    row = queue(handover, "Lost on the way")
    with pytest.raises(UnknownOutcome):  # a 5xx to a send: maybe done
        harness.send(handover, row)
    assert harness.transport.find_sent(fresh(handover), row) is None
    assert "Lost on the way" not in [text for _, text in harness.received(handover)]


def test_find_sent_never_takes_another_rows_message_for_this_one(harness):
    handover = harness.open_handover()
    earlier = queue(handover, "ok")
    mark_sent(earlier, harness.send(handover, earlier))
    harness.fail_sends(handover, 503)
    again = queue(handover, "ok")  # the same text, not stored this time
    with pytest.raises(UnknownOutcome):
        harness.send(handover, again)
    assert harness.transport.find_sent(fresh(handover), again) is None


def test_a_rate_limit_is_a_temporary_failure_with_its_retry_after(harness):
    handover = harness.open_handover()
    harness.fail_sends(handover, 429, retry_after=7)
    row = queue(handover, "Too fast")
    with pytest.raises(TemporaryFailure) as failure:
        harness.send(handover, row)
    assert failure.value.retry_after == 7
    harness.clear_faults()
    assert harness.send(handover, row)  # and then it goes


def test_a_refused_message_is_a_permanent_failure(harness):
    handover = harness.open_handover()
    harness.fail_sends(handover, 400)
    with pytest.raises(PermanentFailure):
        harness.send(handover, queue(handover, "Refused"))


def test_end_leaves_the_conversation(harness):
    handover = harness.open_handover()
    harness.transport.end(fresh(handover))
    assert harness.is_over(handover)


def test_ending_twice_is_done(harness):
    handover = harness.open_handover()
    harness.transport.end(fresh(handover))
    end_is_done(harness, handover)
    assert harness.is_over(handover)


def test_ending_a_conversation_the_agent_ended_is_done(harness):
    handover = harness.open_handover()
    harness.agent_ends(handover)
    end_is_done(harness, handover)
    assert harness.is_over(handover)


def test_a_message_after_the_agent_ended_is_conversation_over(harness, request):
    if request.node.callspec.params["harness"] == "open_messaging":
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason=(
                    "Open Messaging: Genesys takes an inbound message after the end as the "
                    "start of a new conversation; the relay learns of the end from the "
                    "Notifications API or the end webhook, not from the send"
                ),
            )
        )
    handover = harness.open_handover()
    harness.agent_ends(handover)
    with pytest.raises(ConversationOver):
        harness.send(handover, queue(handover, "Still there?"))
