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
from django.urls import reverse
from django.utils import timezone

from endpoints.handovers.services import handover_end
from endpoints.models import EndReason, HandoverEvent
from genesys.models import OpenMessagingConversation, OpenMessagingInbox
from genesys.open_messaging import tasks
from genesys.open_messaging import transport as om_transport
from genesys.open_messaging.client import signature
from genesys.open_messaging.tasks import om_inbox_sweep_task, om_webhook_task
from genesys.open_messaging.transport import OpenMessagingTransport, record_webhook_message
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


# Payloads of an unexpected shape: answered, never raised


@pytest.mark.parametrize(
    ("change", "answer", "recorded"),
    [
        (lambda p, to: {**p, "channel": [to]}, "no recipient", False),
        (lambda p, to: {**p, "channel": {**p["channel"], "to": to}}, "no recipient", False),
        (lambda p, to: {**p, "channel": {**p["channel"], "to": {"id": 7}}}, "no recipient", False),
        (lambda p, to: {**p, "text": {"rich": "text"}}, "ignored Text: the text is not a string", False),  # noqa: E501
        (lambda p, to: {**p, "text": ["Hi"]}, "ignored Text: the text is not a string", False),
        (lambda p, to: {**p, "id": {"x": 1}, "channel": {**p["channel"], "messageId": 2}}, "no message id", False),  # noqa: E501
        (lambda p, to: {**p, "id": "m" * 300}, "no message id", False),
        (lambda p, to: {**p, "type": "Event", "events": "Typing"}, "ignored Event", False),
        (lambda p, to: {**p, "type": "Event", "events": 5}, "ignored Event", False),
        (lambda p, to: {**p, "type": "Event", "events": {"eventType": "Typing"}}, "ignored Event", False),  # noqa: E501
        (lambda p, to: {**p, "type": ["Text"]}, "ignored: no type", False),
        (lambda p, to: {**p, "channel": {**p["channel"], "from": "agent"}}, "agent message", True),
        (lambda p, to: {**p, "channel": {**p["channel"], "from": {"nickname": {}}}}, "agent message", True),  # noqa: E501
    ],
)  # fmt: skip
def test_a_payload_of_an_unexpected_shape_is_answered_not_raised(
    om_handover, change, answer, recorded
):
    om_settings = om_handover.endpoint.genesys_om_settings
    to_id = om_handover.genesys_om.from_id
    payload = change(message(to_id, "m-1", "Hi"), to_id)
    assert record_webhook_message(om_settings.pk, payload) == answer
    assert om_handover.events.filter(kind="agent_message").exists() is recorded


# A call that fails: counted, kept, blocking the later calls until it is dead-lettered


@pytest.fixture
def failing_recorder(monkeypatch):
    """``record_webhook_message``, failing in the database for payloads marked ``poison``:
    a real error, which on PostgreSQL aborts the transaction as a failing INSERT would."""
    real = om_transport.record_webhook_message

    def record(settings_id: int, payload: dict[str, Any]) -> str:
        if payload.get("poison"):
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")
        return real(settings_id, payload)

    monkeypatch.setattr(om_transport, "record_webhook_message", record)


def test_a_failing_call_blocks_the_later_ones_until_it_is_dead_lettered(
    om_handover, settings, failing_recorder, caplog
):
    settings.GENESYS_INBOX_MAX_ATTEMPTS = 3
    om_settings = om_handover.endpoint.genesys_om_settings
    to_id = om_handover.genesys_om.from_id
    first, second = (
        OpenMessagingInbox.objects.create(settings=om_settings, payload=payload)
        for payload in [
            message(to_id, "m-1", "first"),
            message(to_id, "m-2", "poisoned", poison=True),
        ]
    )
    OpenMessagingInbox.objects.create(settings=om_settings, payload=message(to_id, "m-3", "next"))

    assert om_webhook_task.run(om_settings.pk) == 1
    assert texts(om_handover) == ["first"]
    poisoned = OpenMessagingInbox.objects.get(pk=second.pk)
    assert (poisoned.attempts, poisoned.dead_at) == (1, None)
    assert "no_such_table" in poisoned.last_error
    assert poisoned.last_error.split(":")[0] in {"ProgrammingError", "OperationalError"}
    assert OpenMessagingInbox.objects.count() == 2  # the next call waits behind it
    assert poisoned.next_attempt_at > timezone.now()  # not before the backoff
    assert om_webhook_task.run(om_settings.pk) == 0
    assert OpenMessagingInbox.objects.get(pk=second.pk).attempts == 1

    OpenMessagingInbox.objects.update(next_attempt_at=None)  # the backoff is over
    assert om_webhook_task.run(om_settings.pk) == 0
    assert OpenMessagingInbox.objects.get(pk=second.pk).attempts == 2
    assert texts(om_handover) == ["first"]

    OpenMessagingInbox.objects.update(next_attempt_at=None)
    assert om_webhook_task.run(om_settings.pk) == 2  # dead-lettered, then the next one
    dead = OpenMessagingInbox.objects.get()
    assert dead.pk == second.pk
    assert dead.attempts == 3
    assert dead.dead_at is not None
    assert texts(om_handover) == ["first", "next"]

    assert om_webhook_task.run(om_settings.pk) == 0  # a dead letter is not tried again
    assert OpenMessagingInbox.objects.get().attempts == 3
    assert "dead-lettered" in caplog.text
    assert WEBHOOK_SECRET not in caplog.text + dead.last_error
    assert not OpenMessagingInbox.objects.filter(pk=first.pk).exists()


def test_the_last_error_is_the_type_and_message_truncated(om_handover, settings, monkeypatch):
    settings.GENESYS_INBOX_MAX_ATTEMPTS = 1

    def record(settings_id: int, payload: dict[str, Any]) -> str:
        raise ValueError("x" * 1000)

    monkeypatch.setattr(om_transport, "record_webhook_message", record)
    om_settings = om_handover.endpoint.genesys_om_settings
    OpenMessagingInbox.objects.create(settings=om_settings, payload={"type": "Text"})
    assert om_webhook_task.run(om_settings.pk) == 1
    dead = OpenMessagingInbox.objects.get()
    assert dead.dead_at is not None
    assert dead.last_error == "ValueError: " + "x" * 488


# The admin: dead letters listed, filtered, replayed


def test_dead_letters_are_listed_and_replayed_from_the_admin(
    admin_client, om_handover, monkeypatch, django_capture_on_commit_callbacks
):
    om_settings = om_handover.endpoint.genesys_om_settings
    to_id = om_handover.genesys_om.from_id
    dead = OpenMessagingInbox.objects.create(
        settings=om_settings,
        payload=message(to_id, "m-1", "replayed"),
        attempts=5,
        last_error="ProgrammingError: relation does not exist",
        dead_at=timezone.now(),
    )
    waiting = OpenMessagingInbox.objects.create(settings=om_settings, payload={"type": "Text"})
    url = reverse("admin:genesys_openmessaginginbox_changelist")

    html = admin_client.get(url, {"dead": "yes"}).content.decode()
    assert f"Open Messaging webhook call #{dead.pk}<" in html
    assert f"Open Messaging webhook call #{waiting.pk}<" not in html
    assert "ProgrammingError: relation does not exist" in html
    assert str(om_handover.endpoint) in html
    assert f"#{waiting.pk}<" in admin_client.get(url, {"dead": "no"}).content.decode()
    detail = admin_client.get(reverse("admin:genesys_openmessaginginbox_change", args=[dead.pk]))
    assert "replayed" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()  # read-only
    add = admin_client.get(reverse("admin:genesys_openmessaginginbox_add"))
    assert add.status_code == 403

    delayed: list[tuple] = []
    monkeypatch.setattr(om_webhook_task, "delay", lambda *args: delayed.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"action": "replay", "_selected_action": [dead.pk]})
    assert response.status_code == 302
    dead.refresh_from_db()
    assert (dead.attempts, dead.dead_at) == (0, None)
    assert delayed == [(om_settings.pk,)]
    om_webhook_task.run(om_settings.pk)
    assert texts(om_handover) == ["replayed"]


# The worker's lock never holds up a webhook's INSERT


@pytest.mark.postgresql("row locks (SQLite has none)")
@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_stored_at_once_while_a_worker_holds_the_endpoint(client, monkeypatch):
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
    monkeypatch.setattr(om_webhook_task, "delay", lambda *args: None)  # this test is the worker
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


# A late or replayed call of an ended handover never reaches the session's next handover


def two_handovers_of_one_session():
    """Handover one (ended, conversation c-1) and two (open) of session S."""
    om_settings = OpenMessagingSettingsFactory()
    transport = OpenMessagingTransport()
    one = HandoverFactory(endpoint=om_settings.endpoint, provider="genesys_om", session_id="S")
    transport.start(one)
    OpenMessagingConversation.objects.filter(handover=one).update(conversation_id="c-1")
    handover_end(handover_id=one.pk, reason=EndReason.USER_ENDED, disconnect=False)
    two = HandoverFactory(endpoint=om_settings.endpoint, provider="genesys_om", session_id="S")
    transport.start(two)
    one.refresh_from_db()
    return om_settings, one, two


def test_a_call_for_an_ended_handover_does_not_reach_the_sessions_next_one():
    om_settings, one, two = two_handovers_of_one_session()
    assert one.genesys_om.from_id != two.genesys_om.from_id  # per handover, not per session
    payload = message(one.genesys_om.from_id, "late-1", "too late")
    assert record_webhook_message(om_settings.pk, payload) == "no open handover"
    two.refresh_from_db()
    assert two.status == "queued"
    assert not two.events.exists()


def test_a_call_naming_another_conversation_is_ignored():
    om_settings, one, two = two_handovers_of_one_session()
    # Handovers from before the per-handover ids share the session's id.
    shared = one.genesys_om.from_id
    OpenMessagingConversation.objects.filter(handover=two).update(from_id=shared)
    late = message(shared, "late-1", "too late", conversationId="c-1")
    assert record_webhook_message(om_settings.pk, late) == "other conversation"  # two's unknown
    OpenMessagingConversation.objects.filter(handover=two).update(conversation_id="c-2")
    assert record_webhook_message(om_settings.pk, late) == "other conversation"
    in_channel = message(shared, "late-2", "too late")
    in_channel["channel"]["conversationId"] = "c-1"
    assert record_webhook_message(om_settings.pk, in_channel) == "other conversation"
    assert not HandoverEvent.objects.filter(handover=two).exists()
    own = message(shared, "m-1", "hello", conversationId="c-2")
    assert record_webhook_message(om_settings.pk, own) == "agent message"
    assert texts(two) == ["hello"]


# A run that fails as a whole (the database away): Celery retries it after the one backoff


class Retried(Exception):
    pass


@pytest.mark.parametrize(("retries", "ceiling"), [(0, 10.0), (1, 20.0), (4, 30.0)])
def test_a_run_that_fails_as_a_whole_is_retried_after_the_relays_backoff(
    om_handover, settings, monkeypatch, retries, ceiling
):
    settings.RELAY_BACKOFF_SECONDS, settings.RELAY_BACKOFF_MAX_SECONDS = 10.0, 30.0

    def away(settings_id: int) -> bool:
        raise OperationalError("the database is away")

    asked: list[dict[str, Any]] = []

    def retry(**kwargs: Any) -> Retried:
        asked.append(kwargs)
        return Retried()

    monkeypatch.setattr(tasks, "lock_inbox", away)
    monkeypatch.setattr(om_webhook_task, "retry", retry)
    om_webhook_task.push_request(retries=retries)
    try:
        with pytest.raises(Retried):
            om_webhook_task.run(om_handover.endpoint.genesys_om_settings.pk)
    finally:
        om_webhook_task.pop_request()

    [kwargs] = asked
    assert isinstance(kwargs["exc"], OperationalError)
    assert ceiling / 2 <= kwargs["countdown"] <= ceiling  # backoff(retries + 1), not Celery's
    assert om_webhook_task.max_retries == 5
