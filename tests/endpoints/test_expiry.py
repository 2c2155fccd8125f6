"""Expiry: a warning, then ended:expired; indexed, batched, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from endpoints.handovers.expiry import handovers_expire
from endpoints.handovers.services import (
    handover_event_record,
    handover_message_add,
    reset_idle_clock,
)
from endpoints.models import Handover
from tests.factories import HandoverFactory

pytestmark = pytest.mark.django_db


def open_handover(*, idle_minutes: float, duration: int = 1, **kwargs) -> Handover:
    handover = HandoverFactory(session_duration_minutes=duration, **kwargs)
    reset_idle_clock(handover, timezone.now() - timedelta(minutes=idle_minutes))
    handover.save()
    return handover


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
