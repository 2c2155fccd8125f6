"""The relay replicas admin: read only, with the handovers each replica holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from endpoints.handovers import relay_ownership
from endpoints.models import RelayReplica
from tests.factories import HandoverFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:endpoints_relayreplica_changelist")


def test_the_list_shows_each_replica_and_what_it_holds(admin_client, django_assert_max_num_queries):
    for _ in range(3):
        HandoverFactory(provider="genesys", status="queued")
    HandoverFactory(provider="genesys", status="ended", relay_owner="a" * 32)
    relay_ownership.poll(token="a" * 32, providers=["genesys"])
    RelayReplica.objects.create(
        token="b" * 32, hostname="old-host", pid=99, heartbeat_at=timezone.now() - timedelta(1)
    )

    with django_assert_max_num_queries(8):
        response = admin_client.get(LIST_URL)

    assert response.status_code == 200
    rows = {replica.token: replica for replica in response.context["cl"].result_list}
    assert (rows["a" * 32].held_count, rows["b" * 32].held_count) == (3, 0)
    assert "old-host" in response.content.decode()
    assert "Add relay replica" not in response.content.decode()


def test_replicas_cannot_be_added_or_edited(admin_client):
    replica = RelayReplica.objects.create(token="c" * 32, hostname="h", pid=1)
    assert admin_client.get(reverse("admin:endpoints_relayreplica_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:endpoints_relayreplica_change", args=[replica.pk]), {"hostname": "x"}
    )
    assert response.status_code == 403
    replica.refresh_from_db()
    assert replica.hostname == "h"
