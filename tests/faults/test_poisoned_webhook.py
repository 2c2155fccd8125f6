"""Scenario 7: a poisoned Open Messaging webhook call: correctly signed, addressed to the
handover, and raising when it is recorded (every shape Genesys could send is handled now,
so the fault stack's workers raise for this one: ``tests/faults/worker.py``). The agent
messages that follow on the same endpoint still arrive, once and in order; the poison call
is kept with its error (a dead letter) and listed by the admin."""

from __future__ import annotations

import json
import time

import pytest
import requests
from django.test import Client
from django.urls import NoReverseMatch, reverse

from endpoints.handovers.services import handover_message_add
from genesys.models import OpenMessagingInbox
from genesys.open_messaging.client import SIGNATURE_HEADER, signature
from tests.e2e.conftest import wait_for
from tests.factories import WEBHOOK_SECRET, UserFactory
from tests.faults.helpers import (
    agent_message_texts,
    delivery_problems,
    om_ids,
    om_settings,
    poll,
    start_handovers,
)
from tests.faults.sizes import SIZE
from tests.faults.worker import POISON_ID

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SCENARIO = 7  # its number in the README's table and the figures


def poison_for(to_id: str) -> dict:
    return {
        "id": POISON_ID,
        "channel": {
            "platform": "Open",
            "type": "Private",
            "to": {"id": to_id},
            "from": {"id": "agent-1", "idType": "Opaque", "nickname": "Alex Agent"},
            "time": "2026-01-15T09:30:00.000Z",
            "messageId": POISON_ID,
        },
        "type": "Text",
        "text": "poison",
        "direction": "Outbound",
    }


def error_fields(call: OpenMessagingInbox) -> dict[str, object]:
    """Whatever the inbox row keeps about a failure (its fields named like an error)."""
    return {
        field.name: getattr(call, field.name)
        for field in OpenMessagingInbox._meta.concrete_fields
        if "error" in field.name or "fail" in field.name or "dead" in field.name
    }


def test_a_poisoned_webhook_does_not_block_the_agent_messages_after_it(faults, sandbox, figures):
    om = om_settings(sandbox, faults.web_url)
    [handover] = start_handovers(om.endpoint, 1)
    handover_message_add(handover=handover, text="hello", client_message_id="m1")
    cid = om_ids([handover], faults)[handover.pk]
    sandbox.om_agent_join(cid, "Alex Agent")
    sent = {handover.pk: ["before the poison"]}
    sandbox.om_agent_send(cid, "before the poison")
    wait_for(
        lambda: agent_message_texts(handover) == sent[handover.pk],
        what="the first agent message",
        stack=faults,
    )

    poison = poison_for(handover.genesys_om.from_id)
    body = json.dumps(poison).encode()
    answer = requests.post(
        faults.web_url + om.webhook_path(),
        data=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(WEBHOOK_SECRET, body),
        },
        timeout=10,
    )
    poisoned = time.monotonic()
    for n in range(SIZE.poison_later_messages):
        text = f"after the poison {n:03}"
        sandbox.om_agent_send(cid, text)
        sent[handover.pk].append(text)
    arrived = poll(lambda: agent_message_texts(handover) == sent[handover.pk], timeout=20)
    arrival_seconds = time.monotonic() - poisoned
    time.sleep(1)
    received = {handover.pk: agent_message_texts(handover)}
    kept = [
        call for call in OpenMessagingInbox.objects.filter(settings=om) if call.payload == poison
    ]
    errors = error_fields(kept[0]) if kept else {}
    admin_page = changelist_status(kept[0] if kept else None)

    figures.compare(sent, received)
    figures["webhook_status"] = answer.status_code
    figures["later_arrival_seconds"] = arrival_seconds if arrived else None
    figures["inbox_rows_left"] = OpenMessagingInbox.objects.filter(settings=om).count()
    figures["poison_kept"] = len(kept)
    figures["poison_error_fields"] = {name: bool(value) for name, value in errors.items()}
    figures["admin_changelist"] = admin_page

    problems = []
    if answer.status_code != 200:
        problems.append(f"the signed poison call answered {answer.status_code} (Genesys wants 200)")
    if not arrived:
        problems.append("the agent messages after the poison did not all arrive within 20 s")
    problems += delivery_problems(sent, received, where="recorded")
    if len(kept) != 1:
        problems.append(f"the poison call is kept {len(kept)} times (want once, as a dead letter)")
    elif not any(errors.values()):
        problems.append(f"the poison call is kept without an error (error fields: {errors})")
    if admin_page != "listed":
        problems.append(f"the inbox admin's changelist: {admin_page}")
    assert not problems, "\n".join(problems)


def changelist_status(call: OpenMessagingInbox | None) -> str:
    """Whether the inbox admin lists the call ("not registered" while it has no admin)."""
    try:
        url = reverse("admin:genesys_openmessaginginbox_changelist")
    except NoReverseMatch:
        return "not registered"
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin.get(url)
    if page.status_code != 200:
        return f"answered {page.status_code}"
    if call is None:
        return "nothing to list"
    change = reverse("admin:genesys_openmessaginginbox_change", args=[call.pk])
    return "listed" if change in page.content.decode() else "not listed"
