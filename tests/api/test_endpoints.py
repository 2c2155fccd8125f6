"""``/api/v1/endpoints/``: shape, filters, ordering, pagination, ETag, query count."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from endpoints.models import Endpoint
from genesys.models import GenesysSettings
from tests.api.conftest import key_client, token_client
from tests.factories import (
    CLIENT_SECRET,
    ChannelFactory,
    EndpointFactory,
    GenesysSettingsFactory,
    OAuth2ConnectionFactory,
    OpenMessagingSettingsFactory,
    TokenFactory,
    UserFactory,
    issue_key,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:endpoint-list")


def detail_url(endpoint: Endpoint) -> str:
    return reverse("api:endpoint-detail", kwargs={"id": endpoint.public_id})


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


def test_detail_shows_genesys_settings_and_its_connection_without_the_secret(api):
    settings = GenesysSettingsFactory(
        endpoint__name="Support chat",
        endpoint__callback_url="https://bot.example.com/callback",
        session_duration_minutes=45,
        send_profile_information=True,
    )
    connection = settings.node_authentication

    response = api.get(detail_url(settings.endpoint))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {
        "id": str(settings.endpoint.public_id),
        "name": "Support chat",
        "channel_type": "webchat",
        "callback_url": "https://bot.example.com/callback",
        "handover_provider": "genesys",
        "queue_update_seconds": 0,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        "genesys": {
            "host": "mypurecloud.de",
            "organization_id": str(settings.organization_id),
            "deployment_id": str(settings.deployment_id),
            "queue_name": "Cognigy HQ Queue",
            "queue_id": str(settings.queue_id),
            "session_duration_minutes": 45,
            "send_profile_information": True,
            "node_authentication": {
                "id": connection.pk,
                "name": connection.name,
                "oauth_url": "https://login.mypurecloud.de/oauth/token",
                "client_id": connection.client_id,
                "scope": "",
                "has_client_secret": True,
            },
        },
        "genesys_om": None,
    }
    assert CLIENT_SECRET.encode() not in response.content


@pytest.mark.parametrize(
    ("provider", "with_settings", "expected"),
    [
        ("none", False, None),
        # Settings kept from an earlier choice stay inactive, and out of the API.
        ("none", True, None),
        # Genesys chosen but its settings not stored yet.
        ("genesys", False, None),
    ],
)
def test_genesys_key_is_null_unless_genesys_is_selected_and_configured(
    api, provider, with_settings, expected
):
    endpoint = EndpointFactory(handover_provider=provider)
    if with_settings:
        GenesysSettingsFactory(endpoint=endpoint)

    body = api.get(detail_url(endpoint)).json()

    assert body["handover_provider"] == provider
    assert body["genesys"] is expected


def test_blank_callback_url_is_null(api):
    endpoint = EndpointFactory(callback_url="")
    assert api.get(detail_url(endpoint)).json()["callback_url"] is None


def test_connection_without_secret_says_so(api):
    settings = GenesysSettingsFactory(node_authentication__client_secret="")
    body = api.get(detail_url(settings.endpoint)).json()
    assert body["genesys"]["node_authentication"]["has_client_secret"] is False


def test_settings_without_connection_show_null(api):
    settings = GenesysSettingsFactory(node_authentication=None)
    body = api.get(detail_url(settings.endpoint)).json()
    assert body["genesys"]["node_authentication"] is None


def test_unknown_public_id_is_a_json_404(api):
    response = api.get(reverse("api:endpoint-detail", kwargs={"id": uuid.uuid4()}))
    assert response.status_code == 404
    assert response.json() == {"detail": "No Endpoint matches the given query."}


def test_list_is_paginated_in_an_envelope(api):
    EndpointFactory.create_batch(3)
    response = api.get(LIST_URL, {"page_size": 2})
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["previous"] is None
    assert "page=2" in body["next"]
    second = api.get(body["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "error_field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "501"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"handover_provider": "zendesk"}, "handover_provider"),
        ({"handover_provider": ""}, "handover_provider"),
        ({"channel_type": "fax"}, "channel_type"),
        ({"ordering": "created_at"}, "ordering"),
        ({"ordering": "client_secret"}, "ordering"),
    ],
)
def test_invalid_query_parameter_is_a_400_naming_it(api, query, error_field):
    response = api.get(LIST_URL, query)
    assert response.status_code == 400
    assert list(response.json()) == [error_field]


def test_unknown_provider_error_lists_the_valid_ids(api):
    response = api.get(LIST_URL, {"handover_provider": "zendesk"})
    assert response.json() == {
        "handover_provider": ["Not a handover provider. Valid values: none, genesys, genesys_om."]
    }


def test_an_unknown_page_is_a_json_404(api):
    response = api.get(LIST_URL, {"page": 9})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Alpha", "Bravo", "Charlie"]),
        ({"handover_provider": "genesys"}, ["Bravo"]),
        ({"handover_provider": "none"}, ["Alpha", "Charlie"]),
        ({"channel_type": "rest"}, ["Charlie"]),
        ({"channel_type": "rest", "handover_provider": "genesys"}, []),
        ({"ordering": "-name"}, ["Charlie", "Bravo", "Alpha"]),
        ({"ordering": "updated_at"}, ["Bravo", "Charlie", "Alpha"]),
        ({"ordering": "-updated_at"}, ["Alpha", "Charlie", "Bravo"]),
    ],
)
def test_filters_and_ordering(api, query, expected):
    GenesysSettingsFactory(endpoint__name="Bravo")
    EndpointFactory(name="Charlie", channel_type="rest")
    EndpointFactory(name="Alpha")
    # updated_at follows save(); set it directly for a known order.
    now = timezone.now()
    for minutes, name in enumerate(["Bravo", "Charlie", "Alpha"]):
        Endpoint.objects.filter(name=name).update(updated_at=now + dt.timedelta(minutes=minutes))

    assert names(api.get(LIST_URL, query)) == expected


# Token and user (1), the user's permissions and its groups' (1: security.backends), count
# (1), the page's ETag fields (1), the page's endpoints whose bodies are not kept (1); no
# transaction around the request (endpoints.api.transactions).
LIST_QUERIES = 5


@pytest.mark.parametrize("endpoints", [1, 500])
def test_listing_costs_the_same_queries_for_1_or_500_endpoints(
    api, django_assert_num_queries, endpoints
):
    connection = OAuth2ConnectionFactory()
    GenesysSettingsFactory.create_batch(endpoints, node_authentication=connection)
    EndpointFactory.create_batch(endpoints)

    with django_assert_num_queries(LIST_QUERIES):
        response = api.get(LIST_URL, {"page_size": 500})

    results = response.json()["results"]
    assert len(results) == min(2 * endpoints, 500)
    assert any(item["genesys"] for item in results)


@pytest.mark.parametrize("endpoints", [1, 50])
def test_a_repeated_list_costs_two_light_queries(api, django_assert_num_queries, endpoints):
    GenesysSettingsFactory.create_batch(endpoints)
    api.get(LIST_URL)
    with django_assert_num_queries(2) as queries:  # count, the page's ETag fields
        assert len(api.get(LIST_URL).json()["results"]) == endpoints
    assert all("queue_name" not in query["sql"] for query in queries.captured_queries)


def test_a_repeated_detail_costs_one_light_query(api, django_assert_num_queries):
    endpoint = GenesysSettingsFactory().endpoint
    api.get(detail_url(endpoint))
    with django_assert_num_queries(1) as queries:  # the ETag fields; the body is kept
        assert api.get(detail_url(endpoint)).json()["genesys"]["queue_name"]
    assert "queue_name" not in queries.captured_queries[0]["sql"]


def test_etag_answers_304_while_unchanged(api):
    endpoint = GenesysSettingsFactory().endpoint
    first = api.get(detail_url(endpoint))
    etag = first["ETag"]
    assert etag.startswith('W/"')
    assert "private" in first["Cache-Control"]

    again = api.get(detail_url(endpoint), HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_etag_matches_in_a_list_and_strong_form(api):
    endpoint = EndpointFactory()
    etag = api.get(detail_url(endpoint))["ETag"]
    header = f'"other", {etag.removeprefix("W/")}'
    assert api.get(detail_url(endpoint), HTTP_IF_NONE_MATCH=header).status_code == 304


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda s: s.endpoint.save(), id="endpoint"),
        pytest.param(lambda s: s.save(), id="genesys-settings"),
        pytest.param(lambda s: s.node_authentication.save(), id="connection"),
    ],
)
def test_etag_changes_when_the_endpoint_or_its_nested_rows_change(api, change):
    settings = GenesysSettingsFactory()
    etag = api.get(detail_url(settings.endpoint))["ETag"]

    change(GenesysSettings.objects.select_related("endpoint", "node_authentication").get())
    response = api.get(detail_url(settings.endpoint), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response["ETag"] != etag


def test_etag_costs_no_extra_query(api, django_assert_num_queries):
    endpoint = GenesysSettingsFactory().endpoint
    etag = api.get(detail_url(endpoint))["ETag"]
    # The endpoint with settings and connection (the token and its user's permissions were
    # loaded by the first request: kept for API_CREDENTIAL_CACHE_SECONDS).
    with django_assert_num_queries(1):
        assert api.get(detail_url(endpoint), HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.parametrize("page", ["", "0", "-1", "x", "1.5"])
def test_a_page_that_is_not_a_page_number_is_a_400(api, page):
    response = api.get(f"/api/v1/endpoints/?page={page}")
    assert response.status_code == 400
    assert "page" in response.json()


# --- The nested connection honours the permission to view connections


@pytest.fixture
def endpoint_viewer():
    """A token of a user who may view endpoints, not OAuth2 connections."""
    return token_client(TokenFactory(user=UserFactory(view=["endpoints.endpoint"])))


@pytest.mark.parametrize(
    "factory", [GenesysSettingsFactory, OpenMessagingSettingsFactory], ids=["webchat", "om"]
)
def test_without_the_connection_permission_the_nested_connection_is_its_id(
    endpoint_viewer, factory
):
    settings = factory()
    body = endpoint_viewer.get(detail_url(settings.endpoint)).json()
    nested = body[settings.endpoint.handover_provider]["node_authentication"]
    assert nested == {"id": settings.node_authentication.pk}
    # As /api/v1/oauth2-connections/ refuses this token.
    connection_url = reverse(
        "api:oauth2-connection-detail", kwargs={"pk": settings.node_authentication.pk}
    )
    assert endpoint_viewer.get(connection_url).status_code == 403


def test_in_a_list_too(endpoint_viewer):
    settings = GenesysSettingsFactory()
    row = endpoint_viewer.get(LIST_URL).json()["results"][0]
    assert row["genesys"]["node_authentication"] == {"id": settings.node_authentication.pk}


def test_with_the_connection_permission_the_nested_connection_is_whole(api):
    settings = GenesysSettingsFactory()
    nested = api.get(detail_url(settings.endpoint)).json()["genesys"]["node_authentication"]
    assert nested["id"] == settings.node_authentication.pk
    assert nested["client_id"] == settings.node_authentication.client_id


def test_a_channel_key_sees_only_the_id_of_its_endpoints_connection():
    settings = GenesysSettingsFactory()
    client = key_client(issue_key(ChannelFactory(endpoints=[settings.endpoint]))[1])
    nested = client.get(detail_url(settings.endpoint)).json()["genesys"]["node_authentication"]
    assert nested == {"id": settings.node_authentication.pk}


def test_callers_who_see_different_bodies_never_share_an_etag(api, endpoint_viewer):
    settings = GenesysSettingsFactory()
    whole = api.get(detail_url(settings.endpoint))
    reference = endpoint_viewer.get(detail_url(settings.endpoint), HTTP_IF_NONE_MATCH=whole["ETag"])
    assert reference.status_code == 200
    assert reference["ETag"] != whole["ETag"]
