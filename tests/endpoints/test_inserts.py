"""A batch's rows: PostgreSQL's INSERT ... SELECT writes what bulk_create (every other
database) and record_event write, row for row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from endpoints.handovers import inserts
from endpoints.handovers.services import record_event
from endpoints.models import EventKind, Handover, OutboundMessage
from tests.factories import EndpointFactory, HandoverEventFactory, HandoverFactory

pytestmark = pytest.mark.django_db

INSERTS = {
    "INSERT … SELECT": (inserts._insert_events_sql, inserts._insert_outbox_sql),
    "bulk_create": (inserts._bulk_create_events, inserts._bulk_create_outbox),
}
WAYS = [
    pytest.param("INSERT … SELECT", marks=pytest.mark.postgresql("its SQL takes arrays")),
    "bulk_create",
]
DATA = {"reason": "expired", "nested": {"quote": 'it\'s "odd"', "list": [1, None]}}


def handovers() -> list[Handover]:
    """One handover with a callback URL and one without, each with one event already."""
    made = []
    for callback_url in ("https://channel.example/events", ""):
        handover = HandoverFactory(endpoint=EndpointFactory(callback_url=callback_url))
        HandoverEventFactory(handover=handover)
        made.append(Handover.objects.select_related("endpoint").get(pk=handover.pk))
    return made


def rows(handover: Handover) -> list[dict]:
    """The rows written after the handover's first event, as columns."""
    events = [
        model_to_dict(e, exclude=["id", "handover"]) | {"created_at": e.created_at}
        for e in handover.events.filter(seq__gt=1).order_by("seq")
    ]
    outbox = [
        model_to_dict(m, exclude=["id", "handover"]) | {"created_at": m.created_at}
        for m in handover.outbox.order_by("pk")
    ]
    return [*events, *outbox]


@pytest.mark.parametrize("way", WAYS)
def test_a_batch_writes_what_record_event_writes(way):
    insert_events, insert_outbox = INSERTS[way]
    now = timezone.now()
    one_by_one = handovers()
    for handover in one_by_one:
        event = record_event(handover, EventKind.EXPIRY_WARNING, DATA)
        event.created_at = now
        event.next_delivery_at = event.next_delivery_at and now
        event.save()
        OutboundMessage.objects.create(
            handover=handover, kind="disconnect", text="Leave.", created_at=now
        )
    batch = handovers()
    pending = insert_events(
        [(handover, DATA) for handover in batch], kind=EventKind.EXPIRY_WARNING, now=now
    )
    insert_outbox([handover.pk for handover in batch], kind="disconnect", text="Leave.", now=now)
    assert pending == [batch[0].pk]  # the one with a callback URL
    for single, batched in zip(one_by_one, batch, strict=True):
        assert rows(batched) == rows(single)
        assert batched.last_event_seq == single.last_event_seq == 2


@pytest.mark.parametrize("way", WAYS)
def test_a_batch_is_one_statement_each(way):
    insert_events, insert_outbox = INSERTS[way]
    batch = [HandoverFactory() for _ in range(30)]
    if way == "bulk_create":
        batch = list(
            Handover.objects.select_related("endpoint").filter(pk__in=[h.pk for h in batch])
        )
    with CaptureQueriesContext(connection) as queries:
        insert_events([(h, {}) for h in batch], kind=EventKind.ENDED, now=timezone.now())
        insert_outbox([h.pk for h in batch], kind="disconnect", text="Leave.", now=timezone.now())
    assert len(queries) == 2
