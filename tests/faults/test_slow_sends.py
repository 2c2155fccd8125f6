"""Scenario 2: a 429 storm with ``Retry-After`` on every conversation, then sends slower
than the sender lease lasts (each slow send is four 429s with ``Retry-After: 1`` and a
success, every answer a second late: about 9 s against a 7 s lease), with two workers: no
message twice, none out of order."""

from __future__ import annotations

import time

import pytest

from endpoints.handovers.services import handover_message_add
from tests.faults.helpers import (
    customer_texts,
    delivery_problems,
    extra_attempts,
    outbox_settled,
    outbox_statuses,
    poll,
    start_handovers,
    webchat_endpoint,
    webchat_ids,
)
from tests.faults.sizes import SIZE

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SCENARIO = 2  # its number in the README's table and the figures

CONVERSATIONS = "/api/v2/webchat/guest/conversations"


def test_sends_outlasting_the_lease_and_a_429_storm_keep_order_and_once(
    faults, sandbox, settings, figures
):
    assert settings.RELAY_LEASE_SECONDS == 7
    endpoint = webchat_endpoint(sandbox)
    handovers = start_handovers(endpoint, SIZE.lease_handovers)
    cids = webchat_ids(handovers, faults)
    # A storm on every conversation first (it matches first while it lasts), then each
    # conversation's slow sends.
    sandbox.add_fault(
        CONVERSATIONS, method="POST", status=429, retry_after=1, for_seconds=SIZE.storm_seconds
    )
    for cid in cids.values():
        members = f"{CONVERSATIONS}/{cid}/members"
        for _ in range(SIZE.lease_slow_sends):
            sandbox.add_fault(
                members, method="POST", status=429, retry_after=1, delay_seconds=1.0, times=4
            )
            sandbox.add_fault(members, method="POST", delay_seconds=1.0)
    started = time.monotonic()
    sent = {handover.pk: [] for handover in handovers}
    for n in range(SIZE.lease_messages):
        for handover in handovers:
            text = f"h{handover.pk} m{n:03}"
            handover_message_add(handover=handover, text=text, client_message_id=f"c{n}")
            sent[handover.pk].append(text)
    # Each slow send holds a worker process about 9 s (four processes in all).
    slow = SIZE.lease_handovers * SIZE.lease_slow_sends * 9 / 2
    settled = poll(lambda: outbox_settled(sent), timeout=60 + SIZE.storm_seconds + slow)
    time.sleep(2)  # a second sender's request still in flight lands now

    by_conversation = customer_texts(sandbox)
    received = {pk: by_conversation.get(cids[pk], []) for pk in sent}
    figures.compare(sent, received)
    figures["settle_seconds"] = time.monotonic() - started
    figures["outbox"] = outbox_statuses(sent)
    figures["extra_attempts"] = extra_attempts(sent)
    figures["message_posts"] = sandbox.request_count(CONVERSATIONS, "POST")
    figures["history_gets"] = sandbox.request_count(CONVERSATIONS, "GET")

    problems = [] if settled else [f"the outbox did not settle: {outbox_statuses(sent)}"]
    problems += delivery_problems(sent, received)
    assert not problems, "\n".join(problems)
