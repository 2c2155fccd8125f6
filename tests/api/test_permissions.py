"""Who may read configuration: token or session, the view permission, never a write."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from endpoints.models import Endpoint
from genesys.models import OAuth2Connection
from tests.api.conftest import token_client
from tests.factories import (
    GenesysSettingsFactory,
    OAuth2ConnectionFactory,
    TokenFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def urls() -> dict[str, str]:
    settings = GenesysSettingsFactory()
    return {
        "endpoint-list": reverse("api:endpoint-list"),
        "endpoint-detail": reverse(
            "api:endpoint-detail", kwargs={"id": settings.endpoint.public_id}
        ),
        "connection-list": reverse("api:oauth2-connection-list"),
        "connection-detail": reverse(
            "api:oauth2-connection-detail", kwargs={"pk": settings.node_authentication.pk}
        ),
    }


URL_NAMES = ["endpoint-list", "endpoint-detail", "connection-list", "connection-detail"]


@pytest.mark.parametrize("name", URL_NAMES)
def test_anonymous_gets_401_json_with_www_authenticate(anonymous, urls, name):
    response = anonymous.get(urls[name])
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("key", ["abc\x00def", "x" * 41, "not-hex!"], ids=["nul", "long", "odd"])
def test_a_malformed_token_gets_401_before_any_query(urls, key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(urls["endpoint-list"])
    assert not [query for query in queries if "SELECT" in query["sql"]]
    assert response.status_code == 401  # a NUL was a 500
    assert response.json() == {"detail": "Invalid token."}


def test_an_unknown_token_gets_401(urls):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = client.get(urls["endpoint-list"])
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


@pytest.mark.parametrize(
    ("permissions", "allowed"),
    [
        ([], []),
        (["endpoints.endpoint"], ["endpoint-list", "endpoint-detail"]),
        (["genesys.oauth2connection"], ["connection-list", "connection-detail"]),
    ],
)
@pytest.mark.parametrize("name", URL_NAMES)
def test_each_model_needs_its_view_permission(urls, permissions, allowed, name):
    client = token_client(TokenFactory(user=UserFactory(view=permissions)))
    response = client.get(urls[name])
    if name in allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json() == {"detail": "You do not have permission to perform this action."}


def test_superuser_needs_no_explicit_permission(urls):
    client = token_client(TokenFactory(user=UserFactory(is_superuser=True)))
    assert client.get(urls["endpoint-detail"]).status_code == 200


def test_admin_session_reads_the_browsable_api(urls):
    client = APIClient()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(urls["endpoint-list"], HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def snapshot() -> list[tuple]:
    return [
        *Endpoint.objects.values_list("pk", "name", "updated_at"),
        *OAuth2Connection.objects.values_list("pk", "name", "client_id", "updated_at"),
    ]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("name", URL_NAMES)
@pytest.mark.parametrize("superuser", [False, True], ids=["viewer", "superuser"])
def test_writes_answer_405_and_change_nothing(urls, method, name, superuser):
    user = UserFactory(
        is_superuser=superuser, view=["endpoints.endpoint", "genesys.oauth2connection"]
    )
    client = token_client(TokenFactory(user=user))
    OAuth2ConnectionFactory()
    before = snapshot()

    response = getattr(client, method)(urls[name], {"name": "Changed"}, format="json")

    assert response.status_code == 405
    assert response.json()["detail"].startswith("Method ")
    assert snapshot() == before


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_anonymous_writes_answer_401(anonymous, urls, method):
    before = snapshot()
    response = getattr(anonymous, method)(urls["endpoint-detail"], {}, format="json")
    assert response.status_code == 401
    assert snapshot() == before
