"""Tokens whatever is stored: a secret HTTP Basic cannot carry, an unreadable secret, and a
cached token encrypted under a retired key."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache

from genesys.models import OAuth2Connection
from genesys.platform import errors, tokens
from genesys.platform.client import GenesysClient
from genesys.platform.regions import get_region
from tests.factories import CLIENT_SECRET, UNSENDABLE_SECRET

pytestmark = pytest.mark.django_db

FRANKFURT = get_region("mypurecloud.de")


@pytest.mark.parametrize("secret", [UNSENDABLE_SECRET, "planted-bell\x07-secret"])
def test_a_stored_secret_basic_auth_cannot_carry_is_a_credentials_error(
    genesys, connection, caplog, secret
):
    caplog.set_level(logging.DEBUG)
    connection.client_secret = secret
    connection.save()
    with pytest.raises(errors.GenesysCredentialsError) as raised:
        tokens.access_token(connection, FRANKFURT)
    message = str(raised.value)
    assert "The client secret of “Sandbox client” holds characters" in message
    assert "enter the client secret again" in message
    assert genesys.requests("/oauth/token") == []
    for text in (message, repr(raised.value), caplog.text):
        assert secret not in text


def test_a_client_id_basic_auth_cannot_carry_is_a_credentials_error(genesys, connection):
    connection.client_id = "clïent-€"
    connection.save()
    with pytest.raises(errors.GenesysCredentialsError) as raised:
        tokens.request_token(connection, FRANKFURT)
    assert "The Client ID of “Sandbox client” holds characters" in str(raised.value)
    assert genesys.requests("/oauth/token") == []


def test_api_calls_with_such_a_secret_raise_the_credentials_error(genesys, connection):
    connection.client_secret = UNSENDABLE_SECRET
    connection.save()
    client = GenesysClient(region=FRANKFURT, connection=connection)
    with pytest.raises(errors.GenesysCredentialsError):
        client.get_queue("0f4e6f4c-6a1e-4f3c-9a8d-3d2b7e5c1a90")


def test_an_unreadable_secret_is_a_credentials_error(genesys, connection, settings, new_key):
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the key the secret was encrypted with is gone
    connection = OAuth2Connection.objects.get(pk=connection.pk)
    with pytest.raises(errors.GenesysCredentialsError) as raised:
        tokens.access_token(connection, FRANKFURT)
    message = str(raised.value)
    assert "The client secret of “Sandbox client” is unreadable" in message
    assert "enter the client secret again" in message
    assert genesys.requests("/oauth/token") == []


def test_a_cached_token_under_a_retired_key_counts_as_a_miss(
    genesys, connection, settings, new_key, caplog
):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    stale = tokens.access_token(connection, FRANKFURT)
    # Rotation: a new first key, the secret re-encrypted under it, then the old key dropped.
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]
    connection.client_secret = CLIENT_SECRET
    connection.save()
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    caplog.set_level(logging.DEBUG)

    fresh = tokens.access_token(connection, FRANKFURT)

    assert len(genesys.requests("/oauth/token")) == 2
    assert fresh != stale
    assert tokens.access_token(connection, FRANKFURT) == fresh  # cached again, readable
    assert len(genesys.requests("/oauth/token")) == 2
    [record] = [r for r in caplog.records if r.name == "genesys.platform.tokens"]
    assert record.levelno == logging.INFO
    assert "cannot be decrypted" in record.getMessage()
    for planted in (stale, fresh, CLIENT_SECRET):
        assert planted not in caplog.text
    assert cache.get(tokens._cache_key(connection, FRANKFURT))
