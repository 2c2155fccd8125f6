"""Delivery guarantees of the outbox under races and faults, in process, against the sandbox.

Each test is one reproduction of issue #9 ("Why"): leases with an owner, the start done
once, every failure counted, the handover's own provider, expiry re-checked under the lock,
the disconnect kept as outbox work through a broker outage.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from endpoints.handovers import leases, tasks
from endpoints.handovers.expiry import handovers_expire
from endpoints.handovers.outbox import outbox_send
from endpoints.handovers.services import handover_end, handover_message_add, handover_start
from endpoints.handovers.transports import HandoverTransport
from endpoints.models import Handover, OutboundMessage
from endpoints.providers import HandoverProvider
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import use_broker
from tests.factories import GenesysSettingsFactory, HandoverFactory, OAuth2ConnectionFactory

GUEST = "/api/v2/webchat/guest/conversations"
PLANTED = "planted-secret-7d3f"


@pytest.fixture
def fast(settings):
    settings.RELAY_BACKOFF_SECONDS = 0.01
    settings.RELAY_BACKOFF_MAX_SECONDS = 0.01
    settings.RELAY_SWEEP_GRACE_SECONDS = 0
    return settings


@pytest.fixture
def endpoint(genesys, fast):
    return GenesysSettingsFactory(
        organization_id=genesys.organization_id,
        deployment_id=genesys.deployment_id,
        queue_id=genesys.queue_id,
        queue_name=genesys.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    ).endpoint


def start(endpoint) -> Handover:
    handover, _ = handover_start(endpoint=endpoint, user_id="u", session_id=str(uuid.uuid4()))
    return handover


def drain(handover_id: int) -> None:
    for _ in range(100):
        if outbox_send(handover_id) is None:
            return
    pytest.fail("the outbox did not drain")


def guest_texts(genesys, handover: Handover) -> list[str]:
    conversation = genesys.conversation(handover.genesys_webchat.conversation_id)
    customer = conversation["customer"]["id"]
    return [
        message["body"]
        for message in conversation["messages"]
        if message["sender"]["id"] == customer and message["bodyType"] == "standard"
    ]


def in_threads(*targets) -> list[object]:
    """Run each target in its own thread (its own database connection); their results."""
    results: list[object] = [None] * len(targets)

    def run(index: int, target) -> None:
        try:
            results[index] = target()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# 1. The lease has an owner, and a long send keeps it.


@pytest.mark.django_db
def test_a_lease_taken_over_is_lost_for_its_old_holder():
    handover = HandoverFactory()
    old = leases.claim(handover.pk, leases.SENDER)
    assert old is not None
    assert leases.claim(handover.pk, leases.SENDER) is None  # held
    # It runs out and another worker takes it.
    Handover.objects.filter(pk=handover.pk).update(sender_lease_until=timezone.now())
    new = leases.claim(handover.pk, leases.SENDER)
    assert new is not None
    with pytest.raises(leases.LeaseLost):
        old.renew()
    old.release()  # changes nothing: the lease is not its own any more
    handover.refresh_from_db()
    assert handover.sender_lease_owner == new.token
    assert handover.sender_lease_until > timezone.now()


@pytest.mark.django_db
def test_leases_are_independent_per_kind():
    handover = HandoverFactory()
    assert leases.claim(handover.pk, leases.SENDER) is not None
    assert leases.claim(handover.pk, leases.CALLBACK) is not None


@pytest.mark.django_db(transaction=True)
def test_a_send_longer_than_the_lease_keeps_it_and_is_sent_once(endpoint, genesys, fast):
    fast.RELAY_LEASE_SECONDS = 3
    fast.GENESYS_HTTP_MAX_ATTEMPTS = 6
    handover = start(endpoint)
    drain(handover.pk)
    handover.refresh_from_db()
    cid = handover.genesys_webchat.conversation_id
    # Five 429s of one second each: the one send takes about 5 s, past the 3 s lease.
    genesys.add_fault(f"{GUEST}/{cid}/members", method="POST", status=429, retry_after=1, times=5)
    handover_message_add(handover=handover, text="m1", client_message_id="1")
    second_worker: list[object] = []

    def late_worker() -> None:
        threading.Event().wait(3.5)  # the lease would have run out by now without renewal
        second_worker.append(outbox_send(handover.pk))

    in_threads(lambda: outbox_send(handover.pk), late_worker)
    assert second_worker == [None]  # it found the lease held
    drain(handover.pk)
    assert guest_texts(genesys, handover) == ["m1"]


# 3. The start happens once.


@pytest.mark.django_db(transaction=True)
def test_two_workers_starting_one_handover_create_one_conversation(endpoint, genesys):
    handover = start(endpoint)
    genesys.add_fault(GUEST, method="POST", delay_seconds=1.0, times=1)  # a slow create
    in_threads(lambda: outbox_send(handover.pk), lambda: outbox_send(handover.pk))
    drain(handover.pk)
    handover.refresh_from_db()
    assert handover.status == "queued"
    assert len(genesys.conversations()) == 1
    assert OutboundMessage.objects.get(kind="start").status == "sent"


@pytest.mark.django_db
def test_the_sweeper_skips_a_handover_whose_lease_is_live(endpoint):
    handover = start(endpoint)
    assert tasks.outbox_due_handovers(10) == [handover.pk]
    lease = leases.claim(handover.pk, leases.SENDER)
    assert tasks.outbox_due_handovers(10) == []
    lease.release()
    assert tasks.outbox_due_handovers(10) == [handover.pk]


@pytest.mark.django_db
def test_the_sweeper_leaves_a_row_waiting_for_its_retry(endpoint, genesys):
    handover = start(endpoint)
    genesys.add_fault(GUEST, method="POST", status=503, times=10)
    assert outbox_send(handover.pk) is not None  # a retry is scheduled
    OutboundMessage.objects.filter(kind="start").update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert tasks.outbox_due_handovers(10) == []


@pytest.mark.django_db
def test_the_sweeper_lists_each_handover_once(endpoint):
    handover = start(endpoint)
    drain(handover.pk)  # no Genesys conversation yet? the sandbox made one: queued
    for number in range(5):
        OutboundMessage.objects.create(handover=handover, text=f"m{number}")
    assert tasks.outbox_due_handovers(100) == [handover.pk]


# 4. Every failure counts as an attempt.


class BrokenTransport(HandoverTransport):
    """A transport whose every call raises what no transport should: not a TransportError."""

    def start(self, handover):
        return None

    def send(self, handover, message):
        raise RuntimeError(f"unexpected, with {PLANTED} in its message")

    def find_sent(self, handover, message):
        return None

    def end(self, handover):
        raise UnicodeEncodeError("latin-1", PLANTED, 0, 1, "ordinal not in range(256)")


class BrokenProvider(HandoverProvider):
    id = "broken"
    label = "Broken"
    transport = f"{__name__}.BrokenTransport"

    def handover_refusal(self, endpoint):
        return None


PROVIDERS = ["endpoints.providers.NoProvider", f"{__name__}.BrokenProvider"]


@pytest.mark.django_db
@override_settings(HANDOVER_PROVIDERS=PROVIDERS)
def test_an_unexpected_error_counts_as_an_attempt_then_fails_the_message(fast, caplog):
    fast.RELAY_MAX_ATTEMPTS = 3
    caplog.set_level(logging.INFO)
    handover = HandoverFactory(provider="broken", endpoint__handover_provider="broken")
    message, _ = handover_message_add(handover=handover, text="hello", client_message_id="c-1")
    drain(handover.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert "RuntimeError" in message.last_error
    [failed] = handover.events.filter(kind="message_failed")
    assert failed.data["client_message_id"] == "c-1"
    assert PLANTED not in caplog.text
    assert PLANTED not in message.last_error
    assert PLANTED not in failed.data["reason"]


@pytest.mark.django_db
@override_settings(HANDOVER_PROVIDERS=PROVIDERS)
def test_a_disconnect_that_raises_is_retried_within_its_window(fast, caplog):
    fast.RELAY_DISCONNECT_WINDOW_SECONDS = 3600
    handover = HandoverFactory(provider="broken", endpoint__handover_provider="broken")
    handover_end(handover_id=handover.pk, reason="user_ended")
    assert outbox_send(handover.pk) is not None  # it will try again
    row = OutboundMessage.objects.get(kind="disconnect")
    assert (row.status, row.attempts) == ("sending", 1)
    assert "UnicodeEncodeError" in row.last_error
    assert PLANTED not in caplog.text
    # Past its window it is given up (and stays visible as failed).
    OutboundMessage.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(hours=2), next_attempt_at=None
    )
    drain(handover.pk)
    row.refresh_from_db()
    assert row.status == "failed"


@pytest.mark.django_db
def test_a_provider_no_longer_configured_counts_as_an_attempt(fast):
    fast.RELAY_MAX_ATTEMPTS = 2
    handover = HandoverFactory(provider="none")  # None cannot relay
    message, _ = handover_message_add(handover=handover, text="hello")
    drain(handover.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)
    assert handover.events.filter(kind="message_failed").count() == 1


# 5. The handover keeps the provider it started with.


@pytest.mark.django_db
def test_switching_the_endpoints_provider_does_not_strand_an_open_handover(endpoint, genesys):
    handover = start(endpoint)
    drain(handover.pk)
    endpoint.handover_provider = "none"
    endpoint.save()
    handover_message_add(handover=handover, text="still here", client_message_id="1")
    drain(handover.pk)
    handover.refresh_from_db()
    assert guest_texts(genesys, handover) == ["still here"]
    handover_end(handover_id=handover.pk, reason="user_ended")
    drain(handover.pk)
    conversation = genesys.conversation(handover.genesys_webchat.conversation_id)
    assert conversation["customer"]["state"] == "DISCONNECTED"
    assert OutboundMessage.objects.get(kind="disconnect").status == "sent"


# 10. Expiry re-checks under the lock.


@pytest.mark.django_db
def test_a_message_between_the_expirys_listing_and_its_lock_keeps_the_handover():
    handover = HandoverFactory()
    now = timezone.now()
    Handover.objects.filter(pk=handover.pk).update(expires_at=now - timedelta(seconds=1))
    listed = list(Handover.objects.filter(expires_at__lte=now).values_list("pk", flat=True))
    assert listed == [handover.pk]
    message, _ = handover_message_add(handover=handover, text="I'm back")  # resets the clock
    assert handovers_expire(now=now).expired == 0
    handover.refresh_from_db()
    message.refresh_from_db()
    assert handover.status == "queued"
    assert message.status == "pending"


# 11. A disconnect survives a broker outage.


@pytest.mark.django_db
def test_an_end_while_the_broker_is_down_answers_and_disconnects_later(
    endpoint, genesys, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from tests.factories import TokenFactory, UserFactory

    handover = start(endpoint)
    drain(handover.pk)
    handover.refresh_from_db()
    client = APIClient()
    token = TokenFactory(user=UserFactory(perms=["endpoints.drive_handover"]))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    use_broker("redis://127.0.0.1:9/0")  # nothing listens there
    try:
        with django_capture_on_commit_callbacks(execute=True) as published:
            response = client.delete(f"/api/v1/handovers/{handover.public_id}/")
    finally:
        use_broker("memory://")
    assert len(published) == 1  # the disconnect's task: its publish failed
    assert response.status_code == 200
    assert response.json()["status"] == "ended"
    # Nothing was published; the sweeper finds the disconnect, and the worker does it.
    assert tasks.outbox_due_handovers(10) == [handover.pk]
    drain(handover.pk)
    conversation = genesys.conversation(handover.genesys_webchat.conversation_id)
    assert conversation["customer"]["state"] == "DISCONNECTED"
