"""The planted client secret is in no ``/api/`` response body, whatever the route or error."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.urls import reverse
from rest_framework.test import APIClient

from endpoints.models import Endpoint
from tests.api.conftest import key_client, token_client
from tests.factories import (
    CLIENT_SECRET,
    ChannelFactory,
    GenesysSettingsFactory,
    TokenFactory,
    UserFactory,
    issue_key,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted() -> dict[str, str]:
    """An endpoint whose Genesys connection holds the planted secret, created by the ORM."""
    settings = GenesysSettingsFactory()
    connection = settings.node_authentication
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret FROM genesys_oauth2connection WHERE id = %s", [connection.pk]
        )
        ciphertext = cursor.fetchone()[0]
    endpoint_url = reverse("api:endpoint-detail", kwargs={"id": settings.endpoint.public_id})
    connection_url = reverse("api:oauth2-connection-detail", kwargs={"pk": connection.pk})
    return {"endpoint": endpoint_url, "connection": connection_url, "ciphertext": ciphertext}


def paths(planted: dict[str, str]) -> list[str]:
    return [
        "/api/v1/endpoints/",
        "/api/v1/endpoints/?handover_provider=genesys&ordering=-updated_at",
        "/api/v1/endpoints/?handover_provider=secret",
        "/api/v1/endpoints/?page=7",
        planted["endpoint"],
        f"{planted['endpoint']}?format=api",
        "/api/v1/oauth2-connections/",
        planted["connection"],
        "/api/v1/nothing/",
        "/api/schema/",
        "/api/schema/?format=json",
        "/api/docs/",
        "/api/redoc/",
    ]


def clients() -> dict[str, APIClient]:
    superuser = UserFactory(is_superuser=True, is_staff=True)
    session = APIClient()
    session.force_login(superuser)
    return {
        "anonymous": APIClient(),
        "no-permission": token_client(TokenFactory()),
        "token": token_client(TokenFactory(user=superuser)),
        "session": session,
        "channel-key": key_client(issue_key(ChannelFactory(endpoints=Endpoint.objects.all()))[1]),
    }


def test_secret_is_in_no_api_response(planted):
    assert CLIENT_SECRET not in planted["ciphertext"]
    seen = 0
    for name, client in clients().items():
        for path in paths(planted):
            for method in ("get", "options", "post", "delete"):
                response = getattr(client, method)(path, HTTP_ACCEPT="*/*")
                seen += response.status_code == 200
                assert CLIENT_SECRET.encode() not in response.content, (name, method, path)
                assert planted["ciphertext"].encode() not in response.content, (name, path)
            html = client.get(path, HTTP_ACCEPT="text/html").content
            assert CLIENT_SECRET.encode() not in html, (name, path)
    # The sweep really read configuration, not only errors.
    assert seen > 20
