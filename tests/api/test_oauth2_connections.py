"""``/api/v1/oauth2-connections/``: the redacted shape, and the serializers' secret guard."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection as db
from django.test import override_settings
from django.urls import reverse
from rest_framework import serializers

from endpoints.api.serializers import RedactedModelSerializer
from genesys.models import OAuth2Connection
from tests.factories import CLIENT_SECRET, OAuth2ConnectionFactory

pytestmark = pytest.mark.django_db


def test_list_and_detail_show_the_redacted_shape(api):
    connection = OAuth2ConnectionFactory(name="Genesys EU", scope="users")

    listed = api.get(reverse("api:oauth2-connection-list")).json()
    detail = api.get(reverse("api:oauth2-connection-detail", kwargs={"pk": connection.pk}))

    expected = {
        "id": connection.pk,
        "name": "Genesys EU",
        "oauth_url": "https://login.mypurecloud.de/oauth/token",
        "client_id": connection.client_id,
        "scope": "users",
        "has_client_secret": True,
    }
    assert listed["results"] == [expected]
    assert detail.json() == expected
    assert detail["ETag"]


def test_has_client_secret_does_not_need_the_key(api, new_key):
    connection = OAuth2ConnectionFactory()
    # The key the secret was encrypted with is gone.
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        response = api.get(reverse("api:oauth2-connection-detail", kwargs={"pk": connection.pk}))
    assert response.status_code == 200
    assert response.json()["has_client_secret"] is True


def test_neither_secret_nor_ciphertext_is_in_a_response(api):
    connection = OAuth2ConnectionFactory()
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret FROM genesys_oauth2connection WHERE id = %s", [connection.pk]
        )
        ciphertext = cursor.fetchone()[0]

    for url in [
        reverse("api:oauth2-connection-list"),
        reverse("api:oauth2-connection-detail", kwargs={"pk": connection.pk}),
    ]:
        content = api.get(url).content
        assert CLIENT_SECRET.encode() not in content
        assert ciphertext.encode() not in content


@pytest.mark.parametrize("fields", ["__all__", ["name", "client_secret"]])
@pytest.mark.parametrize("base", [RedactedModelSerializer, serializers.ModelSerializer], ids=str)
def test_a_serializer_that_lists_a_secret_takes_it_in_and_never_shows_it(base, fields):
    meta = type("Meta", (), {"model": OAuth2Connection, "fields": fields})
    serializer_class = type("Listing", (base,), {"Meta": meta})
    connection = OAuth2ConnectionFactory()

    assert serializer_class().fields["client_secret"].write_only
    shown = serializer_class(connection).data
    assert "client_secret" not in shown
    assert CLIENT_SECRET not in str(shown)


def test_a_secret_cannot_be_made_read_only():
    meta = type(
        "Meta",
        (),
        {
            "model": OAuth2Connection,
            "fields": ["client_secret"],
            "read_only_fields": ["client_secret"],
        },
    )
    serializer_class = type("Leaky", (RedactedModelSerializer,), {"Meta": meta})
    with pytest.raises(ImproperlyConfigured, match="write-only"):
        serializer_class().fields  # noqa: B018


def test_a_declared_field_cannot_reach_a_sensitive_field_either():
    meta = type("Meta", (), {"model": OAuth2Connection, "fields": ["name", "leak"]})
    serializer_class = type(
        "Leaky",
        (RedactedModelSerializer,),
        {"Meta": meta, "leak": serializers.CharField(source="client_secret")},
    )
    with pytest.raises(ImproperlyConfigured, match="client_secret is sensitive"):
        serializer_class().fields  # noqa: B018
