"""Channel API keys: a channel sees and drives only its endpoints; keys that do not work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from endpoints.models import ChannelAPIKey, Handover, HandoverStatus, OutboundMessage
from tests.api.conftest import key_client, token_client
from tests.factories import (
    ChannelFactory,
    EndpointFactory,
    GenesysSettingsFactory,
    HandoverEventFactory,
    HandoverFactory,
    TokenFactory,
    UserFactory,
    issue_key,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint_a():
    return GenesysSettingsFactory(endpoint__name="A's bot").endpoint


@pytest.fixture
def endpoint_b():
    return GenesysSettingsFactory(endpoint__name="B's bot").endpoint


@pytest.fixture
def channel_a(endpoint_a):
    return ChannelFactory(name="Tenant A", endpoints=[endpoint_a])


@pytest.fixture
def channel_b(endpoint_b):
    return ChannelFactory(name="Tenant B", endpoints=[endpoint_b])


@pytest.fixture
def client_a(channel_a):
    return key_client(issue_key(channel_a)[1])


@pytest.fixture
def handover_b(endpoint_b, channel_b):
    handover = HandoverFactory(endpoint=endpoint_b, status=HandoverStatus.ACTIVE)
    HandoverEventFactory(handover=handover, data={"text": "B's agent speaking"})
    return handover


def start_body() -> dict:
    return {"user_id": "u-1", "session_id": "s-1"}


def handover_url(handover, name: str = "detail") -> str:
    return reverse(f"api:handover-{name}", kwargs={"id": handover.public_id})


# --- Confined to its endpoints


def test_a_key_starts_a_handover_on_its_endpoint(client_a, endpoint_a):
    url = reverse("api:endpoint-handovers", kwargs={"id": endpoint_a.public_id})
    response = client_a.post(url, start_body(), format="json")
    assert response.status_code == 201
    assert Handover.objects.get().endpoint == endpoint_a


def test_a_key_cannot_start_a_handover_on_another_channels_endpoint(client_a, endpoint_b):
    url = reverse("api:endpoint-handovers", kwargs={"id": endpoint_b.public_id})
    response = client_a.post(url, start_body(), format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Endpoint matches the given query."}
    assert not Handover.objects.exists()


@pytest.mark.parametrize(
    ("method", "name", "body"),
    [
        ("get", "detail", None),
        ("get", "events", None),
        ("post", "messages", {"text": "hi from A"}),
        ("post", "typing", None),
        ("delete", "detail", None),
    ],
)
def test_a_key_cannot_touch_another_channels_handover(client_a, handover_b, method, name, body):
    response = getattr(client_a, method)(handover_url(handover_b, name), body, format="json")

    assert response.status_code == 404
    assert b"B's agent speaking" not in response.content
    handover_b.refresh_from_db()
    assert handover_b.status == HandoverStatus.ACTIVE
    assert not OutboundMessage.objects.filter(handover=handover_b).exists()


def test_lists_show_only_the_channels_endpoints(client_a, endpoint_a, endpoint_b):
    EndpointFactory(name="Nobody's bot")
    body = client_a.get(reverse("api:endpoint-list")).json()
    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [str(endpoint_a.public_id)]


def test_another_channels_endpoint_is_not_found(client_a, endpoint_b):
    for name in ["api:endpoint-detail", "api:endpoint-agent-availability"]:
        response = client_a.get(reverse(name, kwargs={"id": endpoint_b.public_id}))
        assert response.status_code == 404, name


def test_an_endpoint_shared_by_two_channels_is_seen_by_both(endpoint_a, channel_a, channel_b):
    channel_b.endpoints.add(endpoint_a)
    for channel in [channel_a, channel_b]:
        client = key_client(issue_key(channel)[1])
        detail = reverse("api:endpoint-detail", kwargs={"id": endpoint_a.public_id})
        assert client.get(detail).status_code == 200


def test_a_channel_without_endpoints_sees_none(endpoint_a):
    client = key_client(issue_key(ChannelFactory())[1])
    assert client.get(reverse("api:endpoint-list")).json()["count"] == 0


def test_a_key_never_reads_oauth2_connections(client_a, endpoint_a):
    connection = endpoint_a.genesys_settings.node_authentication
    for url in [
        reverse("api:oauth2-connection-list"),
        reverse("api:oauth2-connection-detail", kwargs={"pk": connection.pk}),
    ]:
        response = client_a.get(url)
        assert response.status_code == 403, url


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_key_never_writes_configuration(client_a, endpoint_a, method):
    detail = reverse("api:endpoint-detail", kwargs={"id": endpoint_a.public_id})
    response = getattr(client_a, method)(detail, {"name": "Renamed"}, format="json")
    assert response.status_code == 405
    endpoint_a.refresh_from_db()
    assert endpoint_a.name == "A's bot"


def test_staff_tokens_are_not_confined(endpoint_a, endpoint_b, channel_a):
    client = token_client(TokenFactory(user=UserFactory(view=["endpoints.endpoint"])))
    assert client.get(reverse("api:endpoint-list")).json()["count"] == 2


# --- Keys that do not work


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"revoked": True}, "This API key has been revoked."),
        ({"expiry_date": timezone.now() - timedelta(seconds=1)}, "This API key has expired."),
    ],
    ids=["revoked", "expired"],
)
def test_revoked_and_expired_keys_are_401(channel_a, fields, detail):
    _api_key, key = issue_key(channel_a, **fields)
    response = key_client(key).get(reverse("api:endpoint-list"))
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response["WWW-Authenticate"] == "Api-Key"


def test_a_key_revoked_after_use_stops_working(channel_a):
    api_key, key = issue_key(channel_a)
    client = key_client(key)
    assert client.get(reverse("api:endpoint-list")).status_code == 200
    api_key.revoked = True
    api_key.save()
    assert client.get(reverse("api:endpoint-list")).status_code == 401


@pytest.mark.parametrize(
    "key",
    [
        "nosuchpr.0123456789abcdefghijklmnopqrstuv",
        "",
        "no-dot-at-all",
        "abc\x00def.0123",
        "x" * 10_000,
    ],
    ids=["unknown", "blank", "malformed", "nul", "huge"],
)
def test_unknown_or_malformed_keys_are_401(channel_a, key):
    response = key_client(key).get(reverse("api:endpoint-list"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}


def test_a_right_prefix_with_a_wrong_secret_is_401(channel_a):
    _api_key, key = issue_key(channel_a)
    prefix = key.partition(".")[0]
    response = key_client(f"{prefix}.{'0' * 32}").get(reverse("api:endpoint-list"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}


# --- Stored hashed, last used


def test_the_key_is_stored_hashed_and_nowhere_in_clear(channel_a):
    api_key, key = issue_key(channel_a)
    key_client(key).get(reverse("api:endpoint-list"))
    secret = key.partition(".")[2]

    assert api_key.hashed_key.startswith("sha512$$")
    for model in apps.get_models():
        for row in model._default_manager.values():
            assert secret not in repr(row), model._meta.label


def test_last_used_is_written_at_most_once_a_minute(client_a, channel_a):
    api_key = ChannelAPIKey.objects.get(channel=channel_a)
    assert api_key.last_used_at is None

    before = timezone.now()
    assert client_a.get(reverse("api:endpoint-list")).status_code == 200
    api_key.refresh_from_db()
    first_use = api_key.last_used_at
    assert first_use >= before

    # Within the minute: the key's row is read, never written.
    with CaptureQueriesContext(connection) as queries:
        client_a.get(reverse("api:endpoint-list"))
    assert not [query for query in queries if query["sql"].startswith("UPDATE")]
    api_key.refresh_from_db()
    assert api_key.last_used_at == first_use


def test_last_used_is_written_again_after_a_minute(client_a, channel_a):
    a_while_ago = timezone.now() - timedelta(minutes=5)
    ChannelAPIKey.objects.filter(channel=channel_a).update(last_used_at=a_while_ago)
    client_a.get(reverse("api:endpoint-list"))
    assert ChannelAPIKey.objects.get(channel=channel_a).last_used_at > a_while_ago


@pytest.mark.parametrize("count", [1, 30])
def test_a_keys_list_costs_the_same_queries_for_1_or_30_endpoints(count, django_assert_num_queries):
    channel = ChannelFactory(endpoints=[GenesysSettingsFactory().endpoint for _ in range(count)])
    client = key_client(issue_key(channel)[1])
    client.get(reverse("api:endpoint-list"))  # last used: written once
    # The count, the page: the key was verified by the first request (kept for
    # API_CREDENTIAL_CACHE_SECONDS), no transaction around the request.
    with django_assert_num_queries(2):
        assert client.get(reverse("api:endpoint-list")).json()["count"] == count
