"""Configuration bodies kept per ETag (``endpoints.api.representations``): a repeated read
serializes nothing, a change to any row the body shows is in the next read, and who sees
what (a channel's endpoints only, a nested connection in full or as its id) is unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse

from endpoints.api import serializers
from endpoints.api.permissions import ViewModelPermission
from endpoints.api.representations import RepresentationCache, bodies
from endpoints.api.views import EndpointViewSet
from endpoints.models import Endpoint
from genesys.models import GenesysSettings, OpenMessagingSettings
from tests.api.conftest import key_client, token_client
from tests.factories import (
    ChannelFactory,
    EndpointFactory,
    GenesysSettingsFactory,
    OpenMessagingSettingsFactory,
    TokenFactory,
    UserFactory,
    issue_key,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:endpoint-list")


def detail_url(endpoint: Endpoint) -> str:
    return reverse("api:endpoint-detail", kwargs={"id": endpoint.public_id})


@pytest.fixture(autouse=True)
def _no_bodies_kept():
    bodies.clear()


@pytest.fixture
def serialized(monkeypatch) -> list[str]:
    """The names of the endpoints serialized, in order."""
    names: list[str] = []
    to_representation = serializers.EndpointSerializer.to_representation

    def spy(self: Any, instance: Endpoint) -> dict[str, Any]:
        names.append(instance.name)
        return to_representation(self, instance)

    monkeypatch.setattr(serializers.EndpointSerializer, "to_representation", spy)
    return names


def test_a_repeated_detail_read_serializes_once(api, serialized):
    endpoint = GenesysSettingsFactory(endpoint__name="Support").endpoint
    first = api.get(detail_url(endpoint))
    again = api.get(detail_url(endpoint))

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["ETag"] == first["ETag"]
    assert serialized == ["Support"]


def test_a_list_serializes_only_what_changed(api, serialized):
    endpoints = [EndpointFactory(name=name) for name in ("Alpha", "Bravo", "Charlie")]
    first = api.get(LIST_URL).json()
    assert serialized == ["Alpha", "Bravo", "Charlie"]

    api.get(LIST_URL)  # all three kept
    endpoints[1].name = "Bravo 2"
    endpoints[1].save()
    changed = api.get(LIST_URL).json()

    assert serialized == ["Alpha", "Bravo", "Charlie", "Bravo 2"]
    assert [row["name"] for row in changed["results"]] == ["Alpha", "Bravo 2", "Charlie"]
    assert changed["results"][0] == first["results"][0]
    # The detail of an endpoint a list serialized is kept too.
    assert api.get(detail_url(endpoints[0])).json() == first["results"][0]
    assert len(serialized) == 4


def _rename(row: Any) -> None:
    row.name = f"{row.name} (renamed)"
    row.save()


def _requeue(settings: Any) -> None:
    settings.queue_name = "Another queue"
    settings.save()


CHANGES: list[tuple[str, Callable[[Any], None], Callable[[dict[str, Any]], Any]]] = [
    ("endpoint", lambda s: _rename(s.endpoint), lambda body: body["name"]),
    ("settings", _requeue, lambda body: body[body["handover_provider"]]["queue_name"]),
    (
        "connection",
        lambda s: _rename(s.node_authentication),
        lambda body: body[body["handover_provider"]]["node_authentication"]["name"],
    ),
]


@pytest.mark.parametrize(
    "factory", [GenesysSettingsFactory, OpenMessagingSettingsFactory], ids=["webchat", "om"]
)
@pytest.mark.parametrize(("row", "change", "shown"), CHANGES, ids=[c[0] for c in CHANGES])
@pytest.mark.parametrize("read", ["detail", "list"])
def test_a_change_to_any_row_of_the_body_is_in_the_next_read(
    api, factory, row, change, shown, read
):
    settings = factory()

    def body() -> dict[str, Any]:
        if read == "detail":
            return api.get(detail_url(settings.endpoint)).json()
        return api.get(LIST_URL).json()["results"][0]

    before = shown(body())
    model = GenesysSettings if factory is GenesysSettingsFactory else OpenMessagingSettings
    change(model.objects.select_related("endpoint", "node_authentication").get())

    after = shown(body())
    assert after != before
    assert "renamed" in after or after == "Another queue"


@pytest.mark.parametrize("read", ["detail", "list"])
def test_another_provider_chosen_or_the_settings_deleted_is_in_the_next_read(api, read):
    settings = GenesysSettingsFactory()
    endpoint = settings.endpoint

    def body() -> dict[str, Any]:
        if read == "detail":
            return api.get(detail_url(endpoint)).json()
        return api.get(LIST_URL).json()["results"][0]

    assert body()["genesys"] is not None
    OpenMessagingSettingsFactory(endpoint=endpoint)
    endpoint.refresh_from_db()
    endpoint.handover_provider = "genesys_om"
    endpoint.save()
    assert body()["genesys"] is None
    assert body()["genesys_om"] is not None

    OpenMessagingSettings.objects.filter(endpoint=endpoint).delete()
    assert body()["genesys_om"] is None


def test_whoever_reads_first_the_others_see_what_they_may(api):
    settings = GenesysSettingsFactory()
    url = detail_url(settings.endpoint)
    endpoint_viewer = token_client(TokenFactory(user=UserFactory(view=["endpoints.endpoint"])))
    channel = key_client(issue_key(ChannelFactory(endpoints=[settings.endpoint]))[1])
    other_channel = key_client(issue_key(ChannelFactory(endpoints=[EndpointFactory()]))[1])
    reference = {"id": settings.node_authentication.pk}

    for _ in range(2):  # the second round from what the first kept
        assert api.get(url).json()["genesys"]["node_authentication"]["client_id"]
        assert endpoint_viewer.get(url).json()["genesys"]["node_authentication"] == reference
        assert channel.get(url).json()["genesys"]["node_authentication"] == reference
        assert other_channel.get(url).status_code == 404
        listed_to_other = other_channel.get(LIST_URL).json()["results"]
        assert str(settings.endpoint.public_id) not in [row["id"] for row in listed_to_other]
        assert api.get(LIST_URL).json()["results"][0]["genesys"]["node_authentication"]["name"]
        listed = endpoint_viewer.get(LIST_URL).json()["results"][0]
        assert listed["genesys"]["node_authentication"] == reference


def test_a_changed_setting_empties_it(api):
    api.get(detail_url(EndpointFactory()))
    assert len(bodies) == 1
    with override_settings(TIME_ZONE="Europe/Berlin"):
        assert len(bodies) == 0


def test_it_keeps_the_most_recently_used():
    cache = RepresentationCache(2)
    cache.put("a", {"n": 1})
    cache.put("b", {"n": 2})
    assert cache.get_many(["a"]) == {"a": {"n": 1}}  # "a" is now the most recent
    cache.put("c", {"n": 3})

    assert cache.get_many(["a", "b", "c"]) == {"a": {"n": 1}, "c": {"n": 3}}
    assert len(cache) == 2


def test_object_permissions_are_still_checked(api, monkeypatch):
    # The light read skips get_object(); a view whose permissions check objects takes it.
    class NoObjects(ViewModelPermission):
        def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
            return False

    endpoint = EndpointFactory()
    assert api.get(detail_url(endpoint)).status_code == 200  # its body now kept
    monkeypatch.setattr(EndpointViewSet, "permission_classes", [NoObjects])
    assert api.get(detail_url(endpoint)).status_code == 403


def test_a_304_serializes_nothing_even_where_no_body_is_kept(
    api, serialized, django_assert_num_queries
):
    endpoint = GenesysSettingsFactory(endpoint__name="Support").endpoint
    etag = api.get(detail_url(endpoint))["ETag"]
    bodies.clear()  # as in another process, which never served it

    with django_assert_num_queries(1):  # the ETag's columns
        response = api.get(detail_url(endpoint), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert serialized == ["Support"]  # the first request's only
