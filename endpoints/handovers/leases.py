"""Per-handover leases with an owner: one worker at a time does a handover's provider work
(``SENDER``: its start, its outbox in order, its disconnect) or delivers its events to the
callback URL (``CALLBACK``).

A lease is two columns on the handover: a random owner token and an expiry. It is claimed
with one conditional update (a second claimer waits for the first's row lock, then finds the
lease taken), so two workers never both get it; it expires by itself if its holder dies, and
the next worker then takes over. Renewing, releasing and every state change the holder
makes are conditional on its token (``Lease.renew`` in the state change's transaction, or
one statement fenced by ``Lease.fence``): a worker whose lease was taken changes nothing and
stops at once (``LeaseLost``).

Claiming the sender lease also clears ``sender_queued_until`` (the queued task has started:
``endpoints.handovers.enqueue.outbox_enqueue``), whether or not the claim succeeds.

The holder renews before each outside call and between the attempts of one call
(``keep_alive``, which the provider's HTTP layer calls), so a long series of retries never
outlasts the lease; ``RELAY_LEASE_SECONDS`` must exceed the longest single attempt, which a
system check verifies.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, Q, QuerySet
from django.utils import timezone

from endpoints.models import Handover

SENDER = "sender"
CALLBACK = "callback"
LEASES = (SENDER, CALLBACK)
#: While in the future, a sender task is queued for the handover and has not started.
QUEUED_UNTIL = "sender_queued_until"


class LeaseLost(Exception):
    """Another worker holds the lease now: stop without changing anything."""


def _owner(name: str) -> str:
    return f"{name}_lease_owner"


def _until(name: str) -> str:
    return f"{name}_lease_until"


def free(name: str, *, prefix: str = "") -> Q:
    """Rows whose ``name`` lease nobody holds (``prefix``: the path to the handover)."""
    now = timezone.now()
    return Q(**{f"{prefix}{_until(name)}__isnull": True}) | Q(
        **{f"{prefix}{_until(name)}__lt": now}
    )


@dataclass
class Lease:
    """A lease this worker holds on one handover."""

    handover_id: int
    name: str
    token: str = field(repr=False)
    renewed_at: float = field(default_factory=time.monotonic)

    def _mine(self) -> QuerySet[Handover]:
        return Handover.objects.filter(pk=self.handover_id, **{_owner(self.name): self.token})

    def fence(self) -> Exists:
        """A condition for one statement the holder writes: it changes nothing unless the
        lease is still this worker's and not run out (the caller checks the rows changed)."""
        return Exists(self._mine().filter(**{f"{_until(self.name)}__gt": timezone.now()}))

    def renew(self) -> None:
        """Extend the lease; ``LeaseLost`` if another worker took it meanwhile.

        Called inside a state change's transaction, its row lock also keeps anyone from
        taking the lease until that change commits.
        """
        until = timezone.now() + timedelta(seconds=settings.RELAY_LEASE_SECONDS)
        if self._mine().update(**{_until(self.name): until}) != 1:
            raise LeaseLost(f"Handover {self.handover_id}: the {self.name} lease was taken over.")
        self.renewed_at = time.monotonic()

    def keep_alive(self) -> None:
        """Renew if a third of the lease has passed since the last renewal (cheap to call)."""
        if time.monotonic() - self.renewed_at >= settings.RELAY_LEASE_SECONDS / 3:
            self.renew()

    def release(self) -> None:
        self._mine().update(**{_owner(self.name): "", _until(self.name): None})


_current: ContextVar[Lease | None] = ContextVar("lease", default=None)


def claim(handover_id: int, name: str) -> Lease | None:
    """Take the ``name`` lease on the handover if it is free; ``None`` when another holds it."""
    token = secrets.token_hex(16)
    until = timezone.now() + timedelta(seconds=settings.RELAY_LEASE_SECONDS)
    started: dict[str, None] = {QUEUED_UNTIL: None} if name == SENDER else {}
    taken = Handover.objects.filter(free(name), pk=handover_id).update(
        **{_owner(name): token, _until(name): until}, **started
    )
    if taken == 1:
        return Lease(handover_id, name, token)
    if started:  # this task has started all the same: the next row needs a task again
        Handover.objects.filter(pk=handover_id, **{f"{QUEUED_UNTIL}__isnull": False}).update(
            **started
        )
    return None


@contextmanager
def holding(handover_id: int, name: str) -> Iterator[Lease | None]:
    """Hold the lease for the block (``None``: another worker holds it); released after."""
    lease = claim(handover_id, name)
    if lease is None:
        yield None
        return
    reset = _current.set(lease)
    try:
        yield lease
    finally:
        _current.reset(reset)
        lease.release()


def keep_alive() -> None:
    """Renew the lease this worker holds, if any, when due; ``LeaseLost`` if it was taken.

    Called by outside-call layers (the Genesys HTTP client) before each attempt and each
    wait, so a call of many retries keeps its lease.
    """
    lease = _current.get()
    if lease is not None:
        lease.keep_alive()
