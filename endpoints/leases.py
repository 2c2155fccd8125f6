"""Per-handover leases: one worker at a time sends a handover's outbox (or its callbacks).

A lease is a timestamp column on the handover. It is claimed with ``SELECT … FOR UPDATE
SKIP LOCKED`` (on PostgreSQL) and a conditional update, so two workers never both get it;
it expires by itself if its holder dies, and the next worker then takes over.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from endpoints.models import Handover

SENDER = "sender_lease_until"
CALLBACK = "callback_lease_until"


def claim(handover_id: int, lease: str) -> bool:
    """Take ``lease`` on the handover if it is free; whether this caller now holds it."""
    now = timezone.now()
    free = Q(**{f"{lease}__isnull": True}) | Q(**{f"{lease}__lt": now})
    with transaction.atomic():
        row = (
            Handover.objects.select_for_update(skip_locked=True)
            .filter(free, pk=handover_id)
            .values_list("pk", flat=True)
            .first()
        )
        if row is None:
            return False
        until = now + timedelta(seconds=settings.RELAY_LEASE_SECONDS)
        return Handover.objects.filter(free, pk=handover_id).update(**{lease: until}) == 1


def renew(handover_id: int, lease: str) -> None:
    until = timezone.now() + timedelta(seconds=settings.RELAY_LEASE_SECONDS)
    Handover.objects.filter(pk=handover_id).update(**{lease: until})


def release(handover_id: int, lease: str) -> None:
    Handover.objects.filter(pk=handover_id).update(**{lease: None})
