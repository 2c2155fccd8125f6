from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from endpoints import crypto


def test_round_trip_and_ciphertext_hides_plaintext():
    token = crypto.encrypt("s3cret value")
    assert "s3cret" not in token
    assert crypto.decrypt(token) == "s3cret value"


def test_each_encryption_is_randomised():
    assert crypto.encrypt("same") != crypto.encrypt("same")


def test_keys_are_independent_of_secret_key():
    token = crypto.encrypt("kept")
    with override_settings(SECRET_KEY="a-completely-different-secret-key-" * 2):
        assert crypto.decrypt(token) == "kept"


def test_first_key_encrypts_and_every_key_decrypts(new_key):
    old_token = crypto.encrypt("under the old key")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *settings.FIELD_ENCRYPTION_KEYS]):
        assert crypto.decrypt(old_token) == "under the old key"
        assert not crypto.is_under_primary_key(old_token)
        new_token = crypto.encrypt("under the new key")
        assert crypto.is_under_primary_key(new_token)
        assert crypto.is_under_primary_key(crypto.rotate(old_token))


def test_wrong_key_raises_invalid_token(new_key):
    token = crypto.encrypt("x")
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]), pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)


def test_non_ascii_garbage_is_an_invalid_token():
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt("not ascii: é")


@override_settings(FIELD_ENCRYPTION_KEYS=[])
def test_missing_keys_fail_closed_with_the_fix():
    with pytest.raises(ImproperlyConfigured, match="generate_encryption_key"):
        crypto.encrypt("x")


@override_settings(FIELD_ENCRYPTION_KEYS=["not-a-key"])
def test_malformed_key_is_named_without_echoing_it():
    with pytest.raises(ImproperlyConfigured, match="key number 1 is not a Fernet key") as error:
        crypto.encrypt("x")
    assert "not-a-key" not in str(error.value)
