"""Retention: ended handovers past HANDOVER_RETENTION_DAYS go, with every row about them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from endpoints.handovers import retention
from endpoints.handovers.retention import handovers_purge, handovers_purge_task, sessions_clear_task
from endpoints.models import Handover, HandoverEvent, OutboundMessage
from endpoints.models.handover import DeliveryStatus
from genesys.models import OpenMessagingConversation, WebChatConversation
from tests.factories import (
    HandoverEventFactory,
    HandoverFactory,
    OutboundMessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def ended(days_ago: float, **kwargs: object) -> Handover:
    """An ended handover with events, outbox rows, provider rows and admin history."""
    handover = HandoverFactory(
        status="ended",
        end_reason="user_ended",
        ended_at=timezone.now() - timedelta(days=days_ago),
        **kwargs,
    )
    HandoverEventFactory.create_batch(2, handover=handover)
    OutboundMessageFactory.create_batch(2, handover=handover, status="sent")
    WebChatConversation.objects.create(
        handover=handover, conversation_id="c", member_id="m", jwt="j", event_stream_uri="u"
    )
    OpenMessagingConversation.objects.create(handover=handover, from_id=f"from-{handover.pk}")
    LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Handover),
        object_id=str(handover.pk),
        object_repr=str(handover),
        action_flag=CHANGE,
        user=UserFactory(),
    )
    return handover


def rows_of(handover: Handover) -> dict[str, int]:
    return {
        "handover": Handover.objects.filter(pk=handover.pk).count(),
        "events": HandoverEvent.objects.filter(handover_id=handover.pk).count(),
        "outbox": OutboundMessage.objects.filter(handover_id=handover.pk).count(),
        "webchat": WebChatConversation.objects.filter(handover_id=handover.pk).count(),
        "open_messaging": OpenMessagingConversation.objects.filter(handover_id=handover.pk).count(),
        "history": LogEntry.objects.filter(object_id=str(handover.pk)).count(),
    }


ALL_ROWS = {
    "handover": 1,
    "events": 2,
    "outbox": 2,
    "webchat": 1,
    "open_messaging": 1,
    "history": 1,
}
NO_ROWS = dict.fromkeys(ALL_ROWS, 0)


def test_old_ended_handovers_go_with_their_rows_open_and_recent_ones_stay():
    old = ended(91)
    recent = ended(89)
    still_open = HandoverFactory(started_at=timezone.now() - timedelta(days=400))

    handovers_purge_task()

    assert rows_of(old) == NO_ROWS
    assert rows_of(recent) == ALL_ROWS
    assert Handover.objects.filter(pk=still_open.pk).exists()


@pytest.mark.parametrize(
    "work",
    [
        "unsent disconnect",
        "sending message",
        "undelivered callback",
        "sender lease",
        "callback lease",
    ],
)
def test_a_handover_with_work_still_due_waits(work):
    handover = ended(200)
    soon = timezone.now() + timedelta(minutes=1)
    if work == "unsent disconnect":
        OutboundMessageFactory(handover=handover, kind="disconnect", status="pending")
    elif work == "sending message":
        OutboundMessageFactory(handover=handover, status="sending")
    elif work == "undelivered callback":
        HandoverEventFactory(handover=handover, delivery=DeliveryStatus.PENDING)
    elif work == "sender lease":
        Handover.objects.filter(pk=handover.pk).update(sender_lease_until=soon)
    else:
        Handover.objects.filter(pk=handover.pk).update(callback_lease_until=soon)

    assert handovers_purge() == 0
    assert Handover.objects.filter(pk=handover.pk).exists()


def test_failed_rows_do_not_keep_a_handover():
    handover = ended(200)
    OutboundMessageFactory(handover=handover, status="failed")
    HandoverEventFactory(handover=handover, delivery=DeliveryStatus.FAILED)

    assert handovers_purge() == 1


def test_zero_days_keeps_them_forever(settings):
    settings.HANDOVER_RETENTION_DAYS = 0
    handover = ended(10_000)

    handovers_purge_task()

    assert rows_of(handover) == ALL_ROWS


def test_the_retention_period_is_the_setting(settings):
    settings.HANDOVER_RETENTION_DAYS = 7
    old, recent = ended(8), ended(6)

    assert handovers_purge() == 1
    assert rows_of(old) == NO_ROWS
    assert rows_of(recent) == ALL_ROWS


def test_batches_are_bounded_and_their_queries_do_not_grow_with_them():
    for _ in range(7):
        ended(100)

    assert [handovers_purge(batch_size=3) for _ in range(4)] == [3, 3, 1, 0]

    for _ in range(3):
        ended(100)
    with CaptureQueriesContext(connection) as small:
        assert handovers_purge(batch_size=3) == 3
    for _ in range(30):
        ended(100)
    with CaptureQueriesContext(connection) as large:
        assert handovers_purge(batch_size=30) == 30
    assert len(large) == len(small) <= 10


def test_the_task_runs_again_while_batches_come_back_full(monkeypatch):
    monkeypatch.setattr(retention, "PURGE_BATCH", 2)
    enqueued = []
    monkeypatch.setattr(handovers_purge_task, "delay", lambda: enqueued.append(True))
    for _ in range(3):
        ended(100)

    handovers_purge_task()
    assert (Handover.objects.count(), len(enqueued)) == (1, 1)
    handovers_purge_task()
    assert (Handover.objects.count(), len(enqueued)) == (0, 1)


def test_expired_sessions_are_cleared_on_the_beat():
    expired, live = SessionStore(), SessionStore()
    expired.set_expiry(-1)
    for session in (expired, live):
        session["key"] = "value"
        session.create()

    sessions_clear_task()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_both_are_on_the_beat(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "endpoints.retention.handovers_purge_task",
        "endpoints.retention.sessions_clear_task",
    } <= tasks
    from handover_portal.celery import app

    # Registered wherever the worker starts (the endpoints app's ready() imports them).
    assert {
        "endpoints.retention.handovers_purge_task",
        "endpoints.retention.sessions_clear_task",
    } <= set(app.tasks)


def test_the_sessions_admin_states_the_policy(admin_client, settings):
    url = reverse("admin:endpoints_handover_changelist")
    html = admin_client.get(url).content.decode()
    assert "Ended sessions are deleted 90 days after they ended" in html

    settings.HANDOVER_RETENTION_DAYS = 0
    html = admin_client.get(url).content.decode()
    assert "Ended sessions are kept forever" in html
