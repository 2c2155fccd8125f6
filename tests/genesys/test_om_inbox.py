"""The Open Messaging webhook inbox: what it refuses, failing calls and dead letters, the
worker's lock, the sweeper, and calls of another handover or conversation."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connections, transaction
from django.db import connection as db_connection
from django.utils import timezone

from genesys import om_transport
from genesys.models import OpenMessagingInbox
from genesys.om_transport import OpenMessagingTransport
from genesys.open_messaging import signature
from genesys.tasks import om_inbox_sweep_task, om_webhook_task
from tests.factories import WEBHOOK_SECRET, HandoverFactory, OpenMessagingSettingsFactory
from tests.genesys.test_open_messaging import post, webhook_body

pytestmark = pytest.mark.django_db


def message(to_id: str, message_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {**json.loads(webhook_body(to_id, message_id, text)), **extra}


def texts(handover) -> list[str]:
    events = handover.events.filter(kind="agent_message").order_by("seq")
    return [event.data["text"] for event in events]


# Bodies PostgreSQL cannot store, or nested too deeply: 400 before anything is written

NUL = "The body holds \\u0000 or a lone surrogate in a string: it cannot be stored."
DEEP = "The body is nested more than 32 levels deep."


def nested(levels: int) -> str:
    """``levels`` levels of JSON: the object itself and ``levels - 1`` arrays inside it."""
    return '"deep": ' + "[" * (levels - 1) + "]" * (levels - 1)


@pytest.mark.parametrize(
    ("members", "detail"),
    [
        ('"text": "a\\u0000b"', NUL),
        ('"a\\u0000": "key"', NUL),
        ('"channel": {"to": {"id": ["x", {"y": "\\u0000"}]}}', NUL),
        ('"text": "\\ud800"', NUL),
        ('"text": NaN', "The body is not JSON."),
        ('"size": Infinity', "The body is not JSON."),
        (nested(33), DEEP),
        (nested(200_000), DEEP),  # json.loads itself would recurse too deep
    ],
    ids=["string", "key", "nested", "surrogate", "nan", "infinity", "33-levels", "200000-levels"],
)
@pytest.mark.parametrize("view", ["webhook_path", "end_webhook_path"])
def test_bodies_that_cannot_be_stored_are_refused_before_any_write(
    client, om_handover, members, detail, view, django_capture_on_commit_callbacks
):
    om_settings = om_handover.endpoint.genesys_om_settings
    body = ('{"conversationId": "c-1", "type": "Text", ' + members + "}").encode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, getattr(om_settings, view)(), body, signature(WEBHOOK_SECRET, body))
    assert response.status_code == 400
    assert response.json() == {"detail": detail}
    assert callbacks == []
    assert not OpenMessagingInbox.objects.exists()


def test_32_levels_are_accepted(client, om_handover):
    om_settings = om_handover.endpoint.genesys_om_settings
    body = ("{" + nested(32) + "}").encode()
    response = post(client, om_settings.webhook_path(), body, signature(WEBHOOK_SECRET, body))
    assert response.status_code == 200
    assert OpenMessagingInbox.objects.count() == 1


# The worker's lock never holds up a webhook's INSERT


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_stored_at_once_while_a_worker_holds_the_endpoint(client, monkeypatch):
    if db_connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has none)")
    om_handover = HandoverFactory(
        endpoint=OpenMessagingSettingsFactory().endpoint, provider="genesys_om"
    )
    OpenMessagingTransport().start(om_handover)
    om_settings = om_handover.endpoint.genesys_om_settings
    to_id = om_handover.genesys_om.from_id
    OpenMessagingInbox.objects.create(settings=om_settings, payload=message(to_id, "m-1", "a"))
    recording, release = threading.Event(), threading.Event()
    real = om_transport.record_webhook_message

    def record(settings_id: int, payload: dict[str, Any]) -> str:
        recording.set()  # the worker holds its lock now, until release
        release.wait(10)
        return real(settings_id, payload)

    monkeypatch.setattr(om_transport, "record_webhook_message", record)
    done: list[int] = []

    def worker() -> None:
        try:
            done.append(om_webhook_task.run(om_settings.pk))
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert recording.wait(10)
        with db_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # fail fast rather than hang
        try:
            body = webhook_body(to_id, "m-2", "b")
            response = post(
                client, om_settings.webhook_path(), body, signature(WEBHOOK_SECRET, body)
            )
            assert response.status_code == 200
            with db_connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '200ms'")
            with pytest.raises(OperationalError), transaction.atomic():
                om_webhook_task.run(om_settings.pk)  # a second worker still waits
        finally:
            with db_connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        release.set()
        thread.join(10)
    assert done == [1]
    assert om_webhook_task.run(om_settings.pk) == 1
    assert texts(om_handover) == ["a", "b"]


# The sweeper: one task per endpoint, none for dead letters


def test_the_sweep_enqueues_one_task_per_endpoint_and_none_for_dead_letters(monkeypatch):
    busy, quiet, dead_only, fresh = OpenMessagingSettingsFactory.create_batch(4)
    stale = timezone.now() - timedelta(minutes=5)
    for om_settings, count in [(busy, 3), (quiet, 1)]:
        for _ in range(count):
            OpenMessagingInbox.objects.create(settings=om_settings, payload={}, received_at=stale)
    OpenMessagingInbox.objects.create(
        settings=dead_only, payload={}, received_at=stale, attempts=5, dead_at=stale
    )
    OpenMessagingInbox.objects.create(settings=fresh, payload={})  # its own task is on the way
    delayed: list[tuple] = []
    monkeypatch.setattr(om_webhook_task, "delay", lambda *args: delayed.append(args))
    om_inbox_sweep_task.run()
    assert sorted(delayed) == sorted([(busy.pk,), (quiet.pk,)])
