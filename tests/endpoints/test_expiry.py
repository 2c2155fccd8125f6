"""Expiry: a warning, then ended:expired; indexed, set-based batches, never twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from endpoints.handovers import enqueue
from endpoints.handovers.expiry import ExpiryReport, handovers_expire
from endpoints.handovers.services import (
    handover_end,
    handover_event_record,
    handover_message_add,
    lock_handover,
    reset_idle_clock,
)
from endpoints.models import Handover, OutboundMessage
from tests.broker import published
from tests.factories import EndpointFactory, HandoverEventFactory, HandoverFactory

pytestmark = pytest.mark.django_db

CALLBACK_URL = "https://channel.example/handover-events"


def open_handover(*, idle_minutes: float, duration: int = 1, **kwargs) -> Handover:
    handover = HandoverFactory(session_duration_minutes=duration, **kwargs)
    reset_idle_clock(handover, timezone.now() - timedelta(minutes=idle_minutes))
    handover.save()
    return handover


def due_to_end(**kwargs) -> Handover:
    """Idle past its duration, its warning sent already: the expiry ends it."""
    handover = open_handover(idle_minutes=5, **kwargs)
    Handover.objects.filter(pk=handover.pk).update(warn_at=None)
    return handover


def due_to_warn(**kwargs) -> Handover:
    """Idle 36 s of its minute: the expiry warns it (30 s before the end)."""
    return open_handover(idle_minutes=0.6, **kwargs)


def kinds(handover: Handover) -> list[str]:
    return list(handover.events.order_by("seq").values_list("kind", flat=True))


def test_warning_then_expiry_with_a_one_minute_duration():
    handover = open_handover(idle_minutes=0)
    now = timezone.now()
    assert handovers_expire(now=now + timedelta(seconds=10)).warned == 0
    report = handovers_expire(now=now + timedelta(seconds=31))
    assert (report.warned, report.expired) == (1, 0)
    assert kinds(handover) == ["expiry_warning"]
    assert handovers_expire(now=now + timedelta(seconds=45)).warned == 0  # warned once
    report = handovers_expire(now=now + timedelta(seconds=61))
    assert report.expired == 1
    handover.refresh_from_db()
    assert (handover.status, handover.end_reason) == ("ended", "expired")
    assert kinds(handover) == ["expiry_warning", "ended"]
    assert handover.events.get(kind="ended").data == {"reason": "expired"}
    assert handovers_expire(now=now + timedelta(minutes=5)).expired == 0  # ended once


def test_a_message_resets_the_clock():
    handover = open_handover(idle_minutes=0.9)
    handover_message_add(handover=handover, text="still here")
    report = handovers_expire(now=timezone.now() + timedelta(seconds=20))
    assert (report.warned, report.expired) == (0, 0)
    handover_event_record(
        handover_id=handover.pk, kind="agent_message", data={"text": "hi"}, activity=True
    )
    handover.refresh_from_db()
    assert handover.expires_at > timezone.now() + timedelta(seconds=50)


def test_the_beat_reads_only_due_rows_through_the_index():
    for _ in range(50):
        open_handover(idle_minutes=0, duration=60)
    due = open_handover(idle_minutes=2, duration=1)
    with CaptureQueriesContext(connection) as few:
        report = handovers_expire()
    assert report.expired == 1
    due.refresh_from_db()
    assert due.status == "ended"
    for _ in range(50):
        open_handover(idle_minutes=0, duration=60)
    open_handover(idle_minutes=2, duration=1)
    with CaptureQueriesContext(connection) as many:
        handovers_expire()
    assert len(many) == len(few)
    selects = [q["sql"] for q in few.captured_queries if "expires_at" in q["sql"]]
    assert any('"expires_at" <=' in sql for sql in selects)


def test_batches_report_more_work():
    for _ in range(3):
        open_handover(idle_minutes=5)
    report = handovers_expire(batch_size=2)
    assert report.more is True
    assert report.expired == 2
    assert handovers_expire(batch_size=2).expired == 1


def test_ended_handovers_are_not_warned_or_expired_again():
    handover = open_handover(idle_minutes=5, status="ended")
    assert handovers_expire().expired == 0
    assert kinds(handover) == []


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_end_each_handover_once():
    import threading

    from django.db import connections

    handovers = [open_handover(idle_minutes=5) for _ in range(20)]
    start = threading.Barrier(2)
    reports = []

    def beat() -> None:
        start.wait()
        try:
            reports.append(handovers_expire())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.expired for report in reports) == 20
    for handover in handovers:
        assert kinds(handover).count("ended") == 1


@pytest.mark.postgresql("SQLite takes 999 parameters a statement: bulk_create splits a batch")
def test_a_sweep_costs_the_same_statements_for_10_or_200_due():
    """Set-based: a batch is written in a fixed number of statements, with callbacks or
    without, whatever the number due in it (and the number open but not due)."""
    quiet, heard = EndpointFactory(), EndpointFactory(callback_url=CALLBACK_URL)

    def sweep(due: int, not_due: int) -> int:
        for index in range(due):
            endpoint = (quiet, heard)[index % 2]
            due_to_warn(endpoint=endpoint)
            due_to_end(endpoint=endpoint)
        for _ in range(not_due):
            open_handover(idle_minutes=0, duration=60, endpoint=quiet)
        with CaptureQueriesContext(connection) as queries:
            report = handovers_expire(batch_size=200)
        assert (report.warned, report.expired) == (due, due)
        return len(queries)

    assert sweep(10, 5) == sweep(200, 5) == sweep(10, 300)


def test_an_expiry_writes_what_every_end_writes(django_capture_on_commit_callbacks):
    """The same rows as an end by the user, the same tasks: each handover's disconnect and
    callbacks (a batch's published by a worker: one publish for the beat)."""
    endpoint = EndpointFactory(callback_url=CALLBACK_URL)
    expiring = [due_to_end(endpoint=endpoint) for _ in range(3)]
    ending = open_handover(idle_minutes=0, endpoint=endpoint)
    for handover in [*expiring, ending]:
        HandoverEventFactory(handover=handover)
        OutboundMessage.objects.create(handover=handover, text="never sent")
    published()
    with django_capture_on_commit_callbacks(execute=True):
        assert handovers_expire().expired == 3
    ids = sorted(handover.pk for handover in expiring)
    assert sorted(published()) == [
        (enqueue.PUBLISH_EACH, [enqueue.CALLBACKS_DELIVER, ids]),
        (enqueue.PUBLISH_EACH, [enqueue.OUTBOX_SEND, ids]),
    ]
    enqueue.publish_each(enqueue.OUTBOX_SEND, ids)
    assert published() == [(enqueue.OUTBOX_SEND, [pk]) for pk in ids]
    with django_capture_on_commit_callbacks(execute=True):
        assert handover_end(handover_id=ending.pk, reason="expired")
    assert sorted(published()) == [
        (enqueue.CALLBACKS_DELIVER, [ending.pk]),
        (enqueue.OUTBOX_SEND, [ending.pk]),
    ]

    def written(handover: Handover) -> dict:
        handover.refresh_from_db()
        return {
            "handover": (
                handover.status,
                handover.end_reason,
                handover.ended_at is not None,
                handover.expires_at,
                handover.warn_at,
                handover.last_event_seq,
            ),
            "events": [
                (e.seq, e.kind, e.data, e.delivery, e.next_delivery_at is None)
                for e in handover.events.order_by("seq")
            ],
            "outbox": list(
                handover.outbox.order_by("pk").values_list("kind", "text", "status", "last_error")
            ),
        }

    assert written(ending) == {
        "handover": ("ended", "expired", True, None, None, 2),
        "events": [
            (1, "agent_message", {"text": "How can I help?"}, "none", True),
            (2, "ended", {"reason": "expired"}, "pending", False),
        ],
        "outbox": [
            ("message", "never sent", "failed", "The handover ended before it was sent."),
            ("disconnect", "Leave the provider's conversation.", "pending", ""),
        ],
    }
    assert all(written(handover) == written(ending) for handover in expiring)


def test_warnings_are_numbered_after_each_handovers_last_event():
    handovers = [due_to_warn() for _ in range(3)]
    for index, handover in enumerate(handovers):
        for _ in range(index):
            HandoverEventFactory(handover=handover)
    assert handovers_expire().warned == 3
    for index, handover in enumerate(handovers):
        handover.refresh_from_db()
        assert (handover.last_event_seq, handover.warn_at) == (index + 1, None)
        warning = handover.events.get(kind="expiry_warning")
        assert warning.seq == index + 1
        assert warning.data == {"expires_at": handover.expires_at.isoformat(), "idle_minutes": 0}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql("SKIP LOCKED: SQLite has no row locks")
def test_a_handover_being_written_to_is_skipped_not_waited_for():
    """A message holds the handover's row (and, through ``lock_handover``, its endpoint's):
    the beat ends the others at once, the message keeps that one open."""
    endpoint = EndpointFactory()
    held, other = due_to_end(endpoint=endpoint), due_to_end(endpoint=endpoint)
    locked, release, committed = threading.Event(), threading.Event(), threading.Event()

    def message() -> None:
        try:
            with transaction.atomic():
                lock_handover(held.pk)
                locked.set()
                release.wait(timeout=10)
                handover_message_add(handover=held, text="still here")
            committed.set()
        finally:
            connections.close_all()

    writer = threading.Thread(target=message)
    writer.start()
    try:
        assert locked.wait(timeout=10)
        report = handovers_expire()
        assert not committed.is_set(), "the beat waited for the message's lock"
    finally:
        release.set()
        writer.join(timeout=15)
    assert committed.is_set()
    assert report.expired == 1
    assert handovers_expire().expired == 0  # the message reset its clock
    held.refresh_from_db()
    other.refresh_from_db()
    assert (held.status, other.status) == ("queued", "ended")


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_warn_and_end_each_handover_once_over_many_batches():
    endpoint = EndpointFactory(callback_url=CALLBACK_URL)
    warned = [due_to_warn(endpoint=endpoint) for _ in range(30)]
    ending = [open_handover(idle_minutes=5, endpoint=endpoint) for _ in range(30)]
    start = threading.Barrier(2)
    reports = []

    def beat() -> None:
        start.wait()
        try:
            while True:
                report = handovers_expire(batch_size=7)
                reports.append(report)
                if not report.more:
                    break
        finally:
            connections.close_all()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(report.warned for report in reports) == 60
    assert sum(report.expired for report in reports) == 30
    assert handovers_expire() == ExpiryReport()  # nothing left
    for handover in warned:
        assert kinds(handover) == ["expiry_warning"]
    for handover in ending:
        handover.refresh_from_db()
        assert kinds(handover) == ["expiry_warning", "ended"]
        assert list(handover.events.values_list("seq", flat=True)) == [1, 2]
        assert handover.last_event_seq == 2
