"""Which relay replica holds which open handover: ownership kept in the database.

A relay process (``manage.py relay``) holds a connection to the provider per open handover (a
web chat event stream, a notification topic). Run several replicas and each holds only the
handovers it owns. A replica has a random token and a ``RelayReplica`` row; every poll it
calls ``poll(token=…, providers=…)``, which

1. heartbeats the replica's row;
2. renews the leases of the handovers it owns once a third of a lease has passed on them
   (conditional on the owner being its token);
3. claims free or expired open handovers up to its fair share, ceil(open handovers / live
   replicas of the same providers), live meaning a heartbeat within the lease, and
   releases what it owns above that share, so a replica that just started gets work;

and returns the ids of the handovers it owns. Claims lock candidate rows with ``SELECT …
FOR UPDATE SKIP LOCKED`` and take them with an update conditional on their being still
free, so no handover is owned twice (PostgreSQL; SQLite, without row locks, serves one
replica). A replica that dies stops renewing: within ``RELAY_OWNERSHIP_LEASE_SECONDS`` its
handovers are free and the others claim them. ``stop(token=…)`` on a clean stop releases
them at once. Times are the database's clock (``Now()``), the one clock all replicas share.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
from collections.abc import Collection
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Now

from endpoints.models import Handover, HandoverStatus, RelayReplica

#: How long the row of a replica that stopped heartbeating is kept (for the admin).
DEAD_REPLICA_KEPT = timedelta(hours=1)


def new_token() -> str:
    """A replica's random token (32 hex characters)."""
    return secrets.token_hex(16)


def _lease() -> timedelta:
    return timedelta(seconds=settings.RELAY_OWNERSHIP_LEASE_SECONDS)


def _open(providers: Collection[str] | None = None) -> QuerySet[Handover]:
    # ``exclude`` matches the partial index's ``NOT (status = 'ended')`` (handover_relay_open).
    handovers = Handover.objects.exclude(status=HandoverStatus.ENDED)
    return handovers if providers is None else handovers.filter(provider__in=providers)


def _key(providers: Collection[str]) -> str:
    return ",".join(sorted(providers))


def heartbeat(*, token: str, providers: Collection[str]) -> None:
    """The replica is alive (its row is made again if it was deleted)."""
    if not RelayReplica.objects.filter(token=token).update(heartbeat_at=Now()):
        RelayReplica.objects.create(
            token=token,
            providers=_key(providers),
            hostname=socket.gethostname()[:255],
            pid=os.getpid(),
        )
    RelayReplica.objects.filter(heartbeat_at__lt=Now() - DEAD_REPLICA_KEPT).delete()


def live_replicas(providers: Collection[str]) -> int:
    """Replicas of ``providers`` whose heartbeat is within the lease."""
    return RelayReplica.objects.filter(
        providers=_key(providers), heartbeat_at__gt=Now() - _lease()
    ).count()


def renew(*, token: str) -> int:
    """Extend the leases of the open handovers ``token`` owns once a third of a lease has
    passed on them; how many. (Every poll rewrote every row: 5,000 updates a second for a
    replica holding 5,000 streams, each an index entry too.)"""
    due = Q(relay_lease_until__isnull=True) | Q(relay_lease_until__lt=Now() + _lease() * 2 / 3)
    return _open().filter(due, relay_owner=token).update(relay_lease_until=Now() + _lease())


def owned(*, token: str, providers: Collection[str] | None = None) -> set[int]:
    """The ids of the open handovers ``token`` owns."""
    return set(_open(providers).filter(relay_owner=token).values_list("pk", flat=True))


def release(*, token: str, handover_ids: Collection[int] | None = None) -> int:
    """Give up ``token``'s open handovers (those of ``handover_ids``, or all); how many."""
    mine = _open().filter(relay_owner=token)
    if handover_ids is not None:
        mine = mine.filter(pk__in=handover_ids)
    return mine.update(relay_owner="", relay_lease_until=None)


def claim(*, token: str, providers: Collection[str]) -> set[int]:
    """Own ``token``'s fair share of the open handovers of ``providers``: claim free or
    expired ones up to it, release any above it. The ids owned now."""
    relayed = _open(providers)
    share = math.ceil(relayed.count() / max(1, live_replicas(providers)))
    mine = sorted(owned(token=token, providers=providers))
    if len(mine) > share:
        release(token=token, handover_ids=mine[share:])
    elif len(mine) < share:
        free = Q(relay_lease_until__isnull=True) | Q(relay_lease_until__lte=Now())
        with transaction.atomic():
            candidates = list(
                relayed.filter(free)
                .select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[: share - len(mine)]
            )
            if candidates:
                relayed.filter(free, pk__in=candidates).update(
                    relay_owner=token, relay_lease_until=Now() + _lease()
                )
    return owned(token=token, providers=providers)


def poll(*, token: str, providers: Collection[str]) -> set[int]:
    """One poll of a replica: heartbeat, renew, claim its share; the ids it owns."""
    heartbeat(token=token, providers=providers)
    renew(token=token)
    return claim(token=token, providers=providers)


def stop(*, token: str) -> None:
    """A clean stop: release every handover at once and delete the replica's row."""
    release(token=token)
    RelayReplica.objects.filter(token=token).delete()
