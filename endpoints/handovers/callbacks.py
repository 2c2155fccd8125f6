"""Pushing handover events to the channel's callback URL, signed, in order, with retries.

Each event is POSTed as JSON with ``X-Handover-Timestamp`` (Unix seconds) and
``X-Handover-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` keyed with the
endpoint's callback signing secret. A handover's events go one at a time, oldest first: a
failing delivery is retried with backoff before any later event is sent, and given up
(``failed``) after ``CALLBACK_MAX_ATTEMPTS``. The URL is checked again before every POST
(``endpoints.safe_http``): one that may not be called is a failed attempt, and nothing is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from endpoints import backoff, safe_http
from endpoints.fields import SecretUnreadable
from endpoints.handovers import leases, outbox
from endpoints.models import Handover, HandoverEvent
from endpoints.models.handover import DeliveryStatus

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Handover-Signature"
TIMESTAMP_HEADER = "X-Handover-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    message = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300
) -> bool:
    """What a channel does: check the signature (constant time) and the timestamp's age."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def callbacks_deliver(handover_id: int) -> float | None:
    """Deliver the handover's due events; seconds until it should run again, or ``None``."""
    with leases.holding(handover_id, leases.CALLBACK) as lease:
        if lease is None:
            return None  # another worker is delivering this handover's events
        try:
            return _deliver_due(lease)
        except leases.LeaseLost:
            logger.warning("Handover %s: the callback lease was taken over; stopping", handover_id)
            return None


def has_due_events(handover_id: int) -> bool:
    """Whether an event is due now and no worker holds the callback lease (one statement)."""
    return (
        _pending(handover_id)
        .filter(
            leases.free(leases.CALLBACK, prefix="handover__"),
            Q(next_delivery_at__isnull=True) | Q(next_delivery_at__lte=timezone.now()),
        )
        .order_by()
        .exists()
    )


def _pending(handover_id: int):
    return HandoverEvent.objects.filter(
        handover_id=handover_id, delivery=DeliveryStatus.PENDING
    ).order_by("seq")


def _deliver_due(lease: leases.Lease) -> float | None:
    """Deliver the due events in order: per event one statement to read it (the first with
    its handover and endpoint, kept for the run) and one to record it, fenced by the lease;
    the lease is renewed before a POST once a third of it has passed, so a worker whose
    lease ran out renews first, finds it taken and posts nothing more."""
    handover_id = lease.handover_id
    handover: Handover | None = None
    while True:
        pending = _pending(handover_id)
        event = (pending if handover else pending.select_related("handover__endpoint")).first()
        if event is None:
            return None
        if handover is None:
            handover = event.handover
        event.handover = handover
        endpoint = handover.endpoint
        now = timezone.now()
        if event.next_delivery_at and event.next_delivery_at > now:
            return (event.next_delivery_at - now).total_seconds()
        # A POST may take its whole timeout: at least two-thirds of the lease are left
        # after this (renewed once a third has passed), more than the timeout (E005).
        lease.keep_alive()
        try:
            error = _post(endpoint, event)
        except Exception as unexpected:  # every failure counts as an attempt
            error = f"Unexpected {type(unexpected).__name__} delivering the event"
            logger.warning("Event %s of handover %s: %s", event.seq, handover.public_id, error)
        event.delivery_attempts += 1
        if error is None:
            event.delivery = DeliveryStatus.DELIVERED
            event.delivery_error = ""
        elif event.delivery_attempts >= settings.CALLBACK_MAX_ATTEMPTS or not endpoint.callback_url:
            event.delivery = DeliveryStatus.FAILED
            event.delivery_error = error
            logger.warning(
                "Gave up delivering event %s of handover %s: %s",
                event.seq, handover.public_id, error,
            )  # fmt: skip
        else:
            delay = backoff.backoff_seconds(
                event.delivery_attempts,
                base=settings.CALLBACK_BACKOFF_SECONDS,
                cap=settings.CALLBACK_BACKOFF_MAX_SECONDS,
            )
            event.next_delivery_at = now + timedelta(seconds=delay)
            event.delivery_error = error
            with transaction.atomic():
                lease.renew()
                event.save(
                    update_fields=["delivery_attempts", "next_delivery_at", "delivery_error"]
                )
            return delay
        fields = ["delivery", "delivery_attempts", "delivery_error"]
        if not outbox.receipt_wanted(event):
            _write(lease, event, fields)
            continue
        with transaction.atomic():
            lease.renew()
            event.save(update_fields=fields)
            outbox.receipt_enqueue(event, delivered=error is None, reason=event.delivery_error)


def _write(lease: leases.Lease, event: HandoverEvent, fields: list[str]) -> None:
    """Save ``fields`` of the event in one statement fenced by the lease (just renewed)."""
    values = {name: getattr(event, name) for name in fields}
    if HandoverEvent.objects.filter(lease.fence(), pk=event.pk).update(**values) != 1:
        raise leases.LeaseLost(f"Handover {lease.handover_id}: the callback lease was taken over.")


def _post(endpoint, event: HandoverEvent) -> str | None:
    """POST one event; ``None`` on a 2xx, else what went wrong (no secret in it)."""
    if not endpoint.callback_url:
        return "The endpoint has no callback URL any more."
    try:
        secret = endpoint.callback_signing_secret
    except SecretUnreadable:
        return "The callback signing secret is unreadable: enter it again."
    if not secret:
        return "The endpoint has no callback signing secret."
    body = json.dumps(event.as_json(), separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time()))
    try:
        status = safe_http.post(
            endpoint.callback_url,
            body,
            {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(secret, timestamp, body),
            },
            connect_timeout=settings.CALLBACK_CONNECT_TIMEOUT,
            read_timeout=settings.CALLBACK_READ_TIMEOUT,
        )
    except safe_http.Refused as refused:
        return f"Not sent: {refused}"[:500]
    except safe_http.SendFailed as failed:
        return str(failed)
    if 200 <= status < 300:
        return None
    return f"The callback URL answered {status}"
