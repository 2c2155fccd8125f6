"""Callbacks to the channel: signed, in order per handover, retried, then given up."""

from __future__ import annotations

import logging

import pytest

from endpoints.handovers.callbacks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    callbacks_deliver,
    sign,
    verify,
)
from endpoints.handovers.services import handover_event_record
from endpoints.models import HandoverEvent
from tests.factories import HandoverFactory

pytestmark = pytest.mark.django_db

SIGNING_SECRET = "planted-signing-secret-5d2c"


@pytest.fixture
def handover(channel):
    return HandoverFactory(
        endpoint__callback_url=channel.url, endpoint__callback_signing_secret=SIGNING_SECRET
    )


def record(handover, text: str) -> HandoverEvent:
    return handover_event_record(
        handover_id=handover.pk, kind="agent_message", data={"text": text}, external_id=text
    )


def test_events_are_posted_signed_over_timestamp_and_body(channel, handover):
    record(handover, "hello")
    assert callbacks_deliver(handover.pk) is None
    [received] = channel.received
    timestamp = received["headers"][TIMESTAMP_HEADER]
    signature = received["headers"][SIGNATURE_HEADER]
    assert signature == sign(SIGNING_SECRET, timestamp, received["body"])
    assert verify(SIGNING_SECRET, timestamp, received["body"], signature)
    assert not verify("another-secret", timestamp, received["body"], signature)
    assert not verify(SIGNING_SECRET, timestamp, received["body"] + b" ", signature)
    assert not verify(SIGNING_SECRET, "1000", received["body"], signature)  # too old
    assert channel.events() == [
        {
            "seq": 1,
            "handover": str(handover.public_id),
            "kind": "agent_message",
            "data": {"text": "hello"},
            "at": HandoverEvent.objects.get().created_at.isoformat(),
        }
    ]
    assert HandoverEvent.objects.get().delivery == "delivered"


def test_a_failing_callback_is_retried_in_order(channel, handover, settings):
    settings.CALLBACK_BACKOFF_SECONDS = 0.001
    settings.CALLBACK_BACKOFF_MAX_SECONDS = 0.001
    for text in ["one", "two", "three"]:
        record(handover, text)
    channel.fail_next = 2
    delay = callbacks_deliver(handover.pk)
    assert delay is not None
    assert channel.events() == []  # "two" and "three" wait behind "one"
    first = HandoverEvent.objects.get(seq=1)
    assert (first.delivery, first.delivery_attempts) == ("pending", 1)
    assert first.delivery_error == "The callback URL answered 503"
    while (delay := callbacks_deliver(handover.pk)) is not None:
        pass
    assert [event["data"]["text"] for event in channel.events()] == ["one", "two", "three"]


def test_delivery_is_given_up_after_the_configured_attempts(channel, handover, settings):
    settings.CALLBACK_BACKOFF_SECONDS = 0.001
    settings.CALLBACK_BACKOFF_MAX_SECONDS = 0.001
    settings.CALLBACK_MAX_ATTEMPTS = 3
    record(handover, "lost")
    record(handover, "next")
    channel.fail_next = 3
    while callbacks_deliver(handover.pk) is not None:
        pass
    assert HandoverEvent.objects.get(seq=1).delivery == "failed"
    assert [event["data"]["text"] for event in channel.events()] == ["next"]


def test_no_callback_url_means_no_delivery():
    handover = HandoverFactory()
    event = record(handover, "quiet")
    assert event.delivery == "none"
    assert callbacks_deliver(handover.pk) is None


def test_the_signing_secret_is_encrypted_and_never_logged(channel, handover, caplog, settings):
    caplog.set_level(logging.DEBUG)
    settings.CALLBACK_MAX_ATTEMPTS = 1
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT callback_signing_secret FROM endpoints_endpoint WHERE id = %s",
            [handover.endpoint_id],
        )
        assert SIGNING_SECRET not in cursor.fetchone()[0]
    channel.fail_next = 1
    record(handover, "x")
    callbacks_deliver(handover.pk)
    assert SIGNING_SECRET not in caplog.text


def test_a_worker_whose_lease_was_taken_over_posts_nothing_more(channel, handover, settings):
    from django.utils import timezone

    from endpoints.handovers import callbacks, leases
    from endpoints.models import Handover

    record(handover, "hello")
    old = leases.claim(handover.pk, leases.CALLBACK)
    # Its lease runs out (by its clock and the database's) and another worker takes it.
    old.renewed_at -= settings.RELAY_LEASE_SECONDS
    Handover.objects.filter(pk=handover.pk).update(callback_lease_until=timezone.now())
    assert leases.claim(handover.pk, leases.CALLBACK) is not None
    with pytest.raises(leases.LeaseLost):
        callbacks._deliver_due(old)
    assert channel.received == []
    assert HandoverEvent.objects.get().delivery == "pending"


def test_an_unexpected_error_counts_as_a_delivery_attempt(channel, handover, settings, monkeypatch):
    settings.CALLBACK_MAX_ATTEMPTS = 2
    settings.CALLBACK_BACKOFF_SECONDS = 0.001
    settings.CALLBACK_BACKOFF_MAX_SECONDS = 0.001

    def broken(endpoint, event):
        raise TypeError(f"not {SIGNING_SECRET}")

    monkeypatch.setattr("endpoints.handovers.callbacks._post", broken)
    record(handover, "hello")
    for _ in range(10):
        if callbacks_deliver(handover.pk) is None:
            break
    event = HandoverEvent.objects.get()
    assert (event.delivery, event.delivery_attempts) == ("failed", 2)
    assert "Unexpected TypeError" in event.delivery_error
    assert SIGNING_SECRET not in event.delivery_error
