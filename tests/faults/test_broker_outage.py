"""Scenario 3: the Redis broker stopped (``shutdown nosave``: every queued task is lost)
and started again mid-run. The runtime API keeps answering while it is down (202 for
messages), and the relay sends everything, once and in order, within ``RESUME_SECONDS`` of
Redis coming back."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from endpoints.models import Handover
from tests.faults.helpers import (
    RuntimeApi,
    customer_texts,
    delivery_problems,
    outbox_statuses,
    poll,
    webchat_endpoint,
    webchat_ids,
)
from tests.faults.sizes import RESUME_SECONDS, SIZE

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SCENARIO = 3  # its number in the README's table and the figures


def test_the_relay_resumes_after_a_broker_outage_and_the_api_keeps_answering(
    faults, sandbox, figures
):
    endpoint = webchat_endpoint(sandbox)
    api = RuntimeApi(faults.web_url)
    public_ids = []
    for n in range(SIZE.outage_handovers):
        response = api.start(endpoint, f"session-{n}")
        assert response.status_code == 201, response.text
        public_ids.append(response.json()["id"])
    handovers = list(Handover.objects.filter(public_id__in=public_ids).order_by("pk"))
    cids = webchat_ids(handovers, faults)
    sent: dict[int, list[str]] = {handover.pk: [] for handover in handovers}

    def send(handover: Handover, phase: str) -> str:
        text = f"{phase} h{handover.pk} {len(sent[handover.pk]):03}"
        sent[handover.pk].append(text)
        try:
            response = api.message(handover.public_id, text, f"{phase}-{len(sent[handover.pk])}")
        except requests.RequestException as error:
            return type(error).__name__
        return str(response.status_code)

    def delivered() -> dict[int, list[str]] | None:
        by_conversation = customer_texts(sandbox)
        received = {pk: by_conversation.get(cids[pk], []) for pk in sent}
        return received if all(set(sent[pk]) <= set(received[pk]) for pk in sent) else None

    before = Counter(send(handover, "before") for handover in handovers)
    assert before == {"202": len(handovers)}, before
    assert poll(delivered, timeout=30), "the messages before the outage were not delivered"

    during: Counter[str] = Counter()
    polls: Counter[str] = Counter()
    with faults.broker_outage():
        deadline = time.monotonic() + SIZE.outage_seconds
        while time.monotonic() < deadline:
            for handover in handovers:
                during[send(handover, "during")] += 1
                try:
                    polls[str(api.events(handover.public_id).status_code)] += 1
                except requests.RequestException as error:
                    polls[type(error).__name__] += 1
            time.sleep(0.5)
    back = time.monotonic()
    after = Counter(send(handover, "after") for handover in handovers)
    resumed = poll(delivered, timeout=RESUME_SECONDS, interval=0.5)
    resume_seconds = time.monotonic() - back
    time.sleep(1)  # a duplicate in flight lands now

    by_conversation = customer_texts(sandbox)
    received = {pk: by_conversation.get(cids[pk], []) for pk in sent}
    figures.compare(sent, received)
    figures["outage_seconds"] = SIZE.outage_seconds
    figures["api_messages_during_outage"] = dict(during)
    figures["api_events_during_outage"] = dict(polls)
    figures["api_messages_after"] = dict(after)
    figures["resume_seconds"] = resume_seconds if resumed else f">{RESUME_SECONDS:g}"
    figures["outbox"] = outbox_statuses(sent)

    problems = []
    if set(during) != {"202"}:
        problems.append(f"messages while Redis was down answered {dict(during)} (want all 202)")
    if set(polls) != {"200"}:
        problems.append(f"event polls while Redis was down answered {dict(polls)}")
    if set(after) != {"202"}:
        problems.append(f"messages just after Redis came back answered {dict(after)}")
    if not resumed:
        problems.append(
            f"not everything reached the agent within {RESUME_SECONDS:g} s of Redis coming "
            f"back: outbox {outbox_statuses(sent)}"
        )
    problems += delivery_problems(sent, received)
    assert not problems, "\n".join(problems)
