from __future__ import annotations

from pprint import pformat

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.test import override_settings

from endpoints.fields import SecretUnreadable, secret_state
from genesys.models import OAuth2Connection
from tests.factories import CLIENT_SECRET, OAuth2ConnectionFactory

pytestmark = pytest.mark.django_db


def raw_secret(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM genesys_oauth2connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_secret_is_not_stored_in_plain_text():
    connection_row = OAuth2ConnectionFactory()
    stored = raw_secret(connection_row.pk)
    assert stored
    assert CLIENT_SECRET not in stored
    assert OAuth2Connection.objects.get(pk=connection_row.pk).client_secret == CLIENT_SECRET


def test_saving_without_a_new_secret_keeps_the_stored_bytes():
    pk = OAuth2ConnectionFactory().pk
    before = raw_secret(pk)
    loaded = OAuth2Connection.objects.get(pk=pk)
    loaded.name = "Renamed"
    loaded.save()
    assert raw_secret(pk) == before


def test_assigning_a_new_secret_encrypts_it():
    loaded = OAuth2Connection.objects.get(pk=OAuth2ConnectionFactory().pk)
    loaded.client_secret = "another-secret"
    loaded.save()
    assert "another-secret" not in raw_secret(loaded.pk)
    assert OAuth2Connection.objects.get(pk=loaded.pk).client_secret == "another-secret"


@pytest.fixture
def lost_key_pk(new_key):
    """A connection whose secret was encrypted under a key that is no longer configured."""
    pk = OAuth2ConnectionFactory().pk
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        yield pk


def test_row_with_a_lost_key_loads_but_reading_the_secret_names_row_and_field(lost_key_pk):
    pk = lost_key_pk
    loaded = OAuth2Connection.objects.get(pk=pk)  # loading does not decrypt
    assert loaded.name
    with pytest.raises(SecretUnreadable) as error:
        _ = loaded.client_secret
    message = str(error.value)
    assert f"genesys.OAuth2Connection.client_secret of row pk={pk}" in message
    assert "FIELD_ENCRYPTION_KEYS" in message
    assert CLIENT_SECRET not in message
    assert raw_secret(pk) not in message
    assert secret_state(loaded, "client_secret") == "unreadable"


def test_saving_a_row_with_an_unreadable_secret_keeps_its_bytes(lost_key_pk):
    pk = lost_key_pk
    before = raw_secret(pk)
    loaded = OAuth2Connection.objects.get(pk=pk)
    loaded.scope = "changed"
    loaded.save()
    assert raw_secret(pk) == before


def test_secret_state():
    assert secret_state(OAuth2ConnectionFactory(), "client_secret") == "set"
    assert secret_state(OAuth2ConnectionFactory(client_secret=""), "client_secret") == "unset"


@pytest.mark.parametrize("lookup", ["client_secret", "client_secret__exact", "client_secret__in"])
def test_equality_lookups_are_refused(lookup):
    value = [CLIENT_SECRET] if lookup.endswith("__in") else CLIENT_SECRET
    with pytest.raises(FieldError, match="encrypted and cannot be compared"):
        OAuth2Connection.objects.filter(**{lookup: value})


def test_isnull_lookup_is_allowed():
    OAuth2ConnectionFactory()
    assert OAuth2Connection.objects.filter(client_secret__isnull=False).count() == 1


def test_repr_of_the_stored_value_shows_no_ciphertext():
    loaded = OAuth2Connection.objects.get(pk=OAuth2ConnectionFactory().pk)
    stored = loaded.__dict__["client_secret"]
    assert repr(stored) == "StoredSecret(…)"


def test_the_plaintext_is_itself_except_to_repr():
    assigned = OAuth2ConnectionFactory()
    loaded = OAuth2Connection.objects.get(pk=assigned.pk)
    for secret in (assigned.client_secret, loaded.client_secret):
        assert secret == CLIENT_SECRET
        assert secret.encode() == CLIENT_SECRET.encode()
        assert f"{secret}" == str(secret) == CLIENT_SECRET
        # What a traceback's locals show (``pprint``), whatever the variable is called.
        assert repr(secret) == "SecretText(…)"
        assert CLIENT_SECRET not in pformat({"value": secret, "values": [secret]})


def test_validating_a_row_keeps_the_stored_bytes():
    # Model.clean_fields reads every value and assigns it back: the secret as decrypted.
    pk = OAuth2ConnectionFactory().pk
    before = raw_secret(pk)
    loaded = OAuth2Connection.objects.get(pk=pk)
    loaded.full_clean()
    loaded.save()
    assert raw_secret(pk) == before
    assert OAuth2Connection.objects.get(pk=pk).client_secret == CLIENT_SECRET
