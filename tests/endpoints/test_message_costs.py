"""What one user message costs: SQL statements in the runtime API and in the worker, and
Celery publishes per burst (issue #13). Counts and complexity, never timings.

The publish protocol (``endpoints.handovers.enqueue.outbox_enqueue``): a message publishes
a sender task unless one is queued and not started (``sender_queued_until``); the task's
claim clears the mark under the handover's row lock, so a row committed while it was queued
is read after; a task lost with the broker is the sweeper's once the row is older than the
sweep grace.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from endpoints.handovers import enqueue, leases, outbox, tasks
from endpoints.handovers.outbox import outbox_send
from endpoints.handovers.services import handover_end, handover_message_add, handover_start
from endpoints.models import Handover, OutboundMessage
from tests.api.conftest import key_client
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import use_broker
from tests.factories import (
    ChannelFactory,
    GenesysSettingsFactory,
    HandoverFactory,
    OAuth2ConnectionFactory,
    issue_key,
)

GUEST = "/api/v2/webchat/guest/conversations"


@pytest.fixture
def published() -> Iterator[list[tuple[str, tuple]]]:
    """The sender tasks this process publishes (the memory broker takes them)."""
    sent: list[tuple[str, tuple]] = []

    def record(sender: str, body: tuple, **kwargs: object) -> None:
        if sender == enqueue.OUTBOX_SEND:
            sent.append((sender, tuple(body[0])))

    before_task_publish.connect(record, weak=False)
    yield sent
    before_task_publish.disconnect(record)


@pytest.fixture
def grace(settings):
    settings.RELAY_SWEEP_GRACE_SECONDS = 10.0
    settings.RELAY_BACKOFF_SECONDS = 0.01
    settings.RELAY_BACKOFF_MAX_SECONDS = 0.01
    return settings


@pytest.fixture
def endpoint(genesys, grace):
    return GenesysSettingsFactory(
        organization_id=genesys.organization_id,
        deployment_id=genesys.deployment_id,
        queue_id=genesys.queue_id,
        queue_name=genesys.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    ).endpoint


def started(endpoint) -> Handover:
    """A handover whose Genesys conversation exists (its start task has run)."""
    handover, _ = handover_start(endpoint=endpoint, user_id="u", session_id=str(uuid.uuid4()))
    assert outbox_send(handover.pk) is None
    return Handover.objects.get(pk=handover.pk)


def queued_until(handover: Handover):
    return Handover.objects.values_list("sender_queued_until", flat=True).get(pk=handover.pk)


# The runtime API


@pytest.mark.postgresql("FOR UPDATE OF: SQLite locks the whole database instead")
@pytest.mark.django_db(transaction=True)
def test_a_message_costs_the_api_four_statements_under_a_lock_of_the_handover_only(grace):
    endpoint = GenesysSettingsFactory().endpoint
    channel = ChannelFactory(endpoints=[endpoint])
    _, key = issue_key(channel)
    client = key_client(key)
    handover = HandoverFactory(endpoint=endpoint, provider="genesys", status="queued")
    url = f"/api/v1/handovers/{handover.public_id}/messages/"
    assert client.post(url, {"text": "first", "client_message_id": "0"}, format="json")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, {"text": "hello", "client_message_id": "1"}, format="json")

    assert response.status_code == 202, response.content
    statements = [q["sql"] for q in queries.captured_queries]
    # The request's own: BEGIN, the key, the handover (confined to the channel), COMMIT.
    service = [
        sql
        for sql in statements
        if sql not in ("BEGIN", "COMMIT") and "channelapikey" not in sql.split("FROM")[-1][:40]
    ][1:]
    assert len(service) == 4, "\n".join(service)  # was 6: a savepoint around the same four
    [lock] = [sql for sql in service if "FOR UPDATE" in sql]
    assert lock.endswith('FOR UPDATE OF "endpoints_handover"')  # not the endpoint's row
    assert not any("SAVEPOINT" in sql for sql in statements)


@pytest.mark.django_db
def test_a_message_after_the_handover_ended_is_refused_and_a_retry_still_answers(grace):
    handover = HandoverFactory(status="queued")
    first, created = handover_message_add(handover=handover, text="hi", client_message_id="c")
    handover_end(handover_id=handover.pk, reason="user_ended", disconnect=False)
    again, created_again = handover_message_add(handover=handover, text="hi", client_message_id="c")
    assert (created, created_again, again.pk) == (True, False, first.pk)
    from endpoints.handovers.services import HandoverClosed

    with pytest.raises(HandoverClosed):
        handover_message_add(handover=handover, text="late", client_message_id="d")
    assert OutboundMessage.objects.filter(handover=handover, kind="message").count() == 1


# One publish per burst


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_messages_publishes_one_task(endpoint, genesys, published):
    handover = started(endpoint)
    published.clear()
    for n in range(20):
        handover_message_add(handover=handover, text=f"m{n}", client_message_id=str(n))
    assert len(published) == 1  # was 20: one per message

    # The task starts: its claim clears the mark, and it sends the whole burst in order.
    assert outbox_send(handover.pk) is None
    assert queued_until(handover) is None
    conversation = genesys.conversation(handover.genesys_webchat.conversation_id)
    texts = [m["body"] for m in conversation["messages"] if m["bodyType"] == "standard"]
    assert texts == [f"m{n}" for n in range(20)]
    # The next message needs a task again.
    handover_message_add(handover=handover, text="after", client_message_id="after")
    assert len(published) == 2


@pytest.mark.django_db(transaction=True)
def test_a_task_that_finds_the_lease_held_still_clears_the_mark(grace, published):
    handover = HandoverFactory(status="queued")
    handover_message_add(handover=handover, text="one", client_message_id="1")
    assert queued_until(handover) is not None
    Handover.objects.filter(pk=handover.pk).update(
        sender_lease_owner="another", sender_lease_until=timezone.now() + timedelta(minutes=1)
    )  # a worker is on it
    assert leases.claim(handover.pk, leases.SENDER) is None  # the queued task: lease held
    assert queued_until(handover) is None  # it started all the same
    Handover.objects.filter(pk=handover.pk).update(sender_lease_owner="", sender_lease_until=None)
    handover_message_add(handover=handover, text="two", client_message_id="2")
    assert len(published) == 2  # so the next message publishes again


@pytest.mark.django_db
def test_a_publish_that_fails_clears_the_mark(grace, django_capture_on_commit_callbacks):
    handover = HandoverFactory(status="queued")
    use_broker("redis://127.0.0.1:9/0")  # nothing listens there
    try:
        with django_capture_on_commit_callbacks(execute=True):
            handover_message_add(handover=handover, text="lost", client_message_id="1")
    finally:
        use_broker("memory://")
    assert queued_until(handover) is None


@pytest.mark.django_db(transaction=True)
def test_a_lost_queued_task_is_the_sweepers_once_the_grace_has_passed(grace, published):
    handover = HandoverFactory(status="queued")
    for n in range(3):
        handover_message_add(handover=handover, text=f"m{n}", client_message_id=str(n))
    assert len(published) == 1  # and the broker loses it
    assert tasks.outbox_due_handovers(10) == []  # within the grace: its task is on its way
    past = timezone.now() - timedelta(seconds=grace.RELAY_SWEEP_GRACE_SECONDS + 1)
    OutboundMessage.objects.filter(handover=handover).update(created_at=past)
    Handover.objects.filter(pk=handover.pk).update(sender_queued_until=past)
    assert tasks.outbox_due_handovers(10) == [handover.pk]
    tasks.relay_sweep_task()
    assert published[-1] == (enqueue.OUTBOX_SEND, (handover.pk,))


# The worker


def worker_statements(handover: Handover) -> int:
    with CaptureQueriesContext(connection) as queries:
        tasks.outbox_send_task(handover.pk)
    return len(queries.captured_queries)


@pytest.mark.django_db(transaction=True)
def test_the_worker_costs_three_statements_per_message_in_a_burst(endpoint, genesys):
    handover = started(endpoint)
    handover_message_add(handover=handover, text="one", client_message_id="one")
    one = worker_statements(handover)
    for n in range(10):
        handover_message_add(handover=handover, text=f"m{n}", client_message_id=str(n))
    ten = worker_statements(handover)

    # Read the row (with the handover's status), record the attempt, record the result.
    assert ten - one == 9 * 3
    # Per run: the claim, the last look, the release, the look for a row queued meanwhile
    # (the handover and what the transport reads of it come with the first row). It was
    # 10 to 15 statements per message, one run per message.
    assert one == 3 + 4


@pytest.mark.django_db(transaction=True)
def test_a_handovers_rows_are_read_with_its_own_providers_tables_once_known(endpoint, genesys):
    """The first read of a handover's rows joins what every provider's transport reads;
    once this process knows the handover's provider (it never changes), only that one's."""
    handover = started(endpoint)  # its start was read (and its provider learnt) here
    outbox._providers_seen.clear()

    def first_read_sql() -> str:
        handover_message_add(handover=handover, text="x", client_message_id=uuid.uuid4().hex)
        with CaptureQueriesContext(connection) as queries:
            tasks.outbox_send_task(handover.pk)
        return next(
            q["sql"]
            for q in queries.captured_queries
            if 'FROM "endpoints_outboundmessage"' in q["sql"]
        )

    unknown, known = first_read_sql(), first_read_sql()
    assert "genesys_openmessagingsettings" in unknown
    assert "genesys_webchatconversation" in unknown
    assert "genesys_openmessagingsettings" not in known
    assert "genesys_genesyssettings" in known
    assert "genesys_webchatconversation" in known
    sent = OutboundMessage.objects.filter(handover=handover, kind="message")
    assert list(sent.values_list("status", flat=True)) == ["sent", "sent"]


@pytest.mark.django_db
def test_the_next_row_is_one_read_and_a_row_held_back_a_second():
    """The first unsent row is read without the rule of what is due and checked against it;
    only when the rule holds it back is the read made again with the rule."""
    handover = HandoverFactory(status="ended")
    Kind = OutboundMessage.Kind
    # An ended handover's unsent message (its end failed those it knew of): not due...
    held = OutboundMessage.objects.create(handover=handover, kind=Kind.MESSAGE, text="late")
    # ...and its disconnect behind it: due.
    leave = OutboundMessage.objects.create(handover=handover, kind=Kind.DISCONNECT, text="bye")
    with CaptureQueriesContext(connection) as queries:
        row = outbox.next_row(handover.pk)
    assert (row.pk, len(queries)) == (leave.pk, 2)

    held.delete()
    with CaptureQueriesContext(connection) as queries:
        row = outbox.next_row(handover.pk)
    assert (row.pk, len(queries)) == (leave.pk, 1)

    handover.status = "starting"  # nothing of a starting handover is due but its start
    handover.save(update_fields=["status"])
    assert outbox.next_row(handover.pk) is None


# Agent → channel: the callback worker


@pytest.mark.django_db
def test_the_callback_worker_costs_two_statements_per_event_in_a_run(channel):
    from endpoints.handovers.services import handover_event_record

    handover = HandoverFactory(
        endpoint__callback_url=channel.url, endpoint__callback_signing_secret="planted-5e1d"
    )

    def agent_says(text: str) -> None:
        handover_event_record(
            handover_id=handover.pk, kind="agent_message", data={"text": text}, external_id=text
        )

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            tasks.callbacks_deliver_task(handover.pk)
        return len(queries.captured_queries)

    agent_says("one")
    one = statements()
    for n in range(10):
        agent_says(f"m{n}")
    ten = statements()

    assert len(channel.events()) == 11
    # Read the event (the first with its handover and endpoint), record its delivery: the
    # lease is renewed only once a third of it has passed (it was 3 with a renewal before
    # each POST, and 4 before that: the result's write renewed the lease again).
    assert ten - one == 9 * 2
    # Per run: the claim, the last look, the release, the look for an event meanwhile (it
    # was 7: a claim of two statements, the handover apart, the lease's freedom apart).
    assert one == 2 + 4
