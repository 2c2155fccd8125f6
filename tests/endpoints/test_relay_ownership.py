"""Relay replicas dividing the open handovers between them
(``endpoints.handovers.relay_ownership``)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from endpoints.handovers import relay_ownership as ownership
from endpoints.models import Handover, RelayReplica
from tests.factories import HandoverFactory

pytestmark = pytest.mark.django_db

PROVIDERS = ("genesys", "genesys_om")
A, B = "a" * 32, "b" * 32


@pytest.fixture(autouse=True)
def _lease(settings):
    settings.RELAY_OWNERSHIP_LEASE_SECONDS = 15


@pytest.fixture
def handovers() -> set[int]:
    """Six open handovers the Genesys relay holds, and two it never does."""
    ids = {HandoverFactory(provider="genesys", status="queued").pk for _ in range(4)}
    ids |= {HandoverFactory(provider="genesys_om", status="active").pk for _ in range(2)}
    HandoverFactory(provider="genesys", status="ended")
    HandoverFactory(provider="none", status="queued")
    return ids


def poll(token: str) -> set[int]:
    return ownership.poll(token=token, providers=PROVIDERS)


def dies(token: str) -> None:
    """``token`` stopped a lease ago: its heartbeat and its leases are in the past."""
    past = timezone.now() - timedelta(seconds=16)
    RelayReplica.objects.filter(token=token).update(heartbeat_at=past)
    Handover.objects.filter(relay_owner=token).update(relay_lease_until=past)


def split(handovers: set[int]) -> tuple[set[int], set[int]]:
    """A started first; B joins; a poll each later they hold half each."""
    assert poll(A) == handovers
    assert poll(B) == set()  # A's leases are valid: nothing is free yet
    a = poll(A)  # A sees two live replicas and releases what is above its share
    b = poll(B)
    return a, b


def test_one_replica_owns_every_open_handover_of_its_providers(handovers):
    assert poll(A) == handovers
    replica = RelayReplica.objects.get(token=A)
    assert replica.hostname
    assert replica.pid
    assert poll(A) == handovers  # renewed, not claimed again


def test_two_replicas_split_the_handovers_fairly(handovers):
    a, b = split(handovers)
    assert len(a) == len(b) == 3
    assert a | b == handovers
    assert not a & b
    assert (poll(A), poll(B)) == (a, b)  # stable


def test_the_share_is_rounded_up_so_every_handover_is_owned(handovers):
    Handover.objects.filter(pk=max(handovers)).update(status="ended")
    a, b = split(handovers - {max(handovers)})
    assert sorted([len(a), len(b)]) == [2, 3]
    assert a | b == handovers - {max(handovers)}


def test_a_dead_replicas_handovers_are_taken_over_after_its_lease(handovers):
    a, b = split(handovers)
    assert poll(A) == a  # B is alive: A keeps its share
    dies(B)
    assert poll(A) == handovers
    assert set(Handover.objects.filter(pk__in=b).values_list("relay_owner", flat=True)) == {A}


def test_a_clean_stop_releases_at_once(handovers):
    split(handovers)
    ownership.stop(token=B)
    assert not RelayReplica.objects.filter(token=B).exists()
    assert poll(A) == handovers  # no waiting for B's leases


def test_a_replica_whose_leases_ran_out_keeps_only_what_nobody_took(handovers):
    assert poll(A) == handovers
    Handover.objects.filter(relay_owner=A).update(
        relay_lease_until=timezone.now() - timedelta(seconds=1)
    )  # A was too slow to renew (its heartbeat is recent: it is alive)
    b = poll(B)
    a = poll(A)
    assert len(b) == 3
    assert a == handovers - b


def test_ended_handovers_are_not_held(handovers):
    assert poll(A) == handovers
    ended = min(handovers)
    Handover.objects.filter(pk=ended).update(status="ended")
    assert poll(A) == handovers - {ended}


def test_replicas_that_stopped_long_ago_are_forgotten(handovers):
    poll(B)
    RelayReplica.objects.filter(token=B).update(heartbeat_at=timezone.now() - timedelta(hours=2))
    poll(A)
    assert list(RelayReplica.objects.values_list("token", flat=True)) == [A]


def test_a_relay_of_other_providers_takes_no_share(handovers):
    assert ownership.poll(token=B, providers=["another"]) == set()
    assert poll(A) == handovers  # B does not count as a replica of the Genesys relay


@pytest.mark.postgresql("several replicas need its row locks")
@pytest.mark.django_db(transaction=True)
def test_no_handover_is_owned_twice_by_replicas_polling_at_once():
    # A provider of its own: a relay process of the e2e tests may be running.
    providers = ["concurrent"]
    handovers = {HandoverFactory(provider="concurrent", status="queued").pk for _ in range(20)}
    tokens = [ownership.new_token() for _ in range(4)]
    rounds = 6
    barrier = threading.Barrier(len(tokens))
    results: dict[str, list[set[int]]] = {token: [] for token in tokens}
    failures: list[BaseException] = []

    def replica(token: str) -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=20)
                results[token].append(ownership.poll(token=token, providers=providers))
        except BaseException as error:  # reported by the main thread
            failures.append(error)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=replica, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    for n in range(rounds):
        owned = [results[token][n] for token in tokens]
        assert sum(len(ids) for ids in owned) == len(set().union(*owned))  # disjoint
    assert set().union(*(results[token][-1] for token in tokens)) == handovers
    assert all(len(results[token][-1]) == 5 for token in tokens)


def test_a_lease_is_renewed_once_a_third_of_it_has_passed_not_every_poll(handovers):
    assert poll(A) == handovers
    assert ownership.renew(token=A) == 0  # just claimed: nothing to rewrite
    lease = timedelta(seconds=15)  # RELAY_OWNERSHIP_LEASE_SECONDS
    half_gone = timezone.now() + lease / 2
    Handover.objects.filter(pk=min(handovers)).update(relay_lease_until=half_gone)
    assert ownership.renew(token=A) == 1
    assert poll(A) == handovers
