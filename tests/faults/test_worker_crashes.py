"""Scenario 1: a Celery worker killed with ``kill -9`` every few seconds (and started
again) while user messages of many handovers are relayed, with two workers: every message
reaches Genesys, in order per handover, none twice; every handover is started once. Each
send takes 0.1 s, so the kills land mid-send."""

from __future__ import annotations

import time

import pytest

from endpoints.handovers.services import handover_message_add
from tests.faults.helpers import (
    Background,
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
SCENARIO = 1  # its number in the README's table and the figures


def test_workers_killed_mid_relay_lose_duplicate_and_reorder_nothing(faults, sandbox, figures):
    endpoint = webchat_endpoint(sandbox)
    victims = faults.workers[:2]
    assert len(victims) == 2

    def crash(run: int) -> None:
        worker = victims[run % len(victims)]
        worker.kill()
        faults.restart(worker)

    # Every send takes a moment, so that the kills land mid-send: Genesys may have the
    # message when its worker dies.
    sandbox.add_fault(
        "/api/v2/webchat/guest/conversations", method="POST", delay_seconds=0.1, for_seconds=600
    )
    sent: dict[int, list[str]] = {}
    marks = faults.log_marks()
    started = time.monotonic()
    with Background(crash, every=SIZE.crash_kill_every_seconds) as chaos:
        handovers = start_handovers(endpoint, SIZE.crash_handovers)
        cids = webchat_ids(handovers, faults, timeout=90)
        sent = {handover.pk: [] for handover in handovers}
        pause = SIZE.crash_send_seconds / SIZE.crash_messages
        for n in range(SIZE.crash_messages):
            handover = handovers[n % len(handovers)]
            text = f"h{handover.pk} m{n:04}"
            handover_message_add(handover=handover, text=text, client_message_id=f"c{n}")
            sent[handover.pk].append(text)
            time.sleep(pause)
        # The crashes go on while the outbox drains.
        drain_timeout = max(60.0, SIZE.crash_messages * 0.3)
        drained_under_fire = poll(lambda: outbox_settled(sent), timeout=drain_timeout)
    faults.ensure_running()
    drained = drained_under_fire or poll(lambda: outbox_settled(sent), timeout=30)
    time.sleep(1)  # a send in flight when the last row was marked lands now

    by_conversation = customer_texts(sandbox)
    received = {pk: by_conversation.get(cids[pk], []) for pk in sent}
    figures.compare(sent, received)
    figures["handovers"] = len(sent)
    figures["kills"] = chaos.runs
    figures["drain_seconds"] = time.monotonic() - started
    figures["outbox"] = outbox_statuses(sent)
    figures["extra_attempts"] = extra_attempts(sent)
    figures["found_in_history"] = faults.count_logged("had arrived before", marks)
    figures["history_gets"] = sandbox.request_count("/api/v2/webchat/guest/conversations", "GET")
    figures["conversations"] = len(by_conversation)

    problems = [f"the chaos loop failed: {error!r}" for error in chaos.errors]
    if not drained:
        problems.append(f"the outbox did not drain: {outbox_statuses(sent)}")
    problems += delivery_problems(sent, received)
    if len(by_conversation) != len(sent):
        problems.append(
            f"{len(by_conversation)} Genesys conversations for {len(sent)} handovers "
            "(a start ran twice)"
        )
    assert not problems, "\n".join(problems)
