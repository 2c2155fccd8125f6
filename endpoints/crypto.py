"""Encryption of secrets at rest: the one key ring, from ``FIELD_ENCRYPTION_KEYS``.

The keys are Fernet keys of their own, never derived from ``SECRET_KEY``, so rotating
``SECRET_KEY`` leaves every secret readable. The first key encrypts; every key decrypts,
which is what lets ``rotate_encryption_keys`` move rows from a retired key to the new one.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = [
    "InvalidToken",
    "decrypt",
    "encrypt",
    "generate_key",
    "is_under_primary_key",
    "key_ring",
    "parse_keys",
    "rotate",
]


def generate_key() -> str:
    """A new random Fernet key, as text fit for ``FIELD_ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(keys: list[str] | tuple[str, ...] | str) -> list[Fernet]:
    """Fernet objects for ``keys``; ``ValueError`` names the position of a malformed key."""
    if isinstance(keys, str):
        keys = keys.split(",")
    fernets = []
    for position, key in enumerate(key.strip() for key in keys if key.strip()):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise ValueError(
                f"key number {position + 1} is not a Fernet key "
                "(32 url-safe base64-encoded bytes, as `python manage.py "
                "generate_encryption_key` prints)"
            ) from None
    return fernets


@functools.cache
def _fernets() -> tuple[Fernet, ...]:
    try:
        fernets = parse_keys(settings.FIELD_ENCRYPTION_KEYS)
    except ValueError as error:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS: {error}.") from None
    if not fernets:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty: secrets cannot be encrypted or read. Set it to "
            "one or more comma-separated keys from `python manage.py generate_encryption_key`."
        )
    return tuple(fernets)


def key_ring() -> MultiFernet:
    """The configured keys: the first encrypts, all decrypt."""
    return MultiFernet(list(_fernets()))


@receiver(setting_changed)
def _reset_key_ring(*, setting: str, **kwargs: object) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernets.cache_clear()


def _token_bytes(token: str) -> bytes:
    try:
        return token.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidToken from None


def encrypt(plaintext: str) -> str:
    """``plaintext`` encrypted under the first key, as a Fernet token in text."""
    return key_ring().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of ``token``; raises ``InvalidToken`` when no configured key opens it."""
    return key_ring().decrypt(_token_bytes(token)).decode("utf-8")


def is_under_primary_key(token: str) -> bool:
    """Whether ``token`` was encrypted with the first (current) key."""
    try:
        _fernets()[0].decrypt(_token_bytes(token))
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """``token`` re-encrypted under the first key; raises ``InvalidToken`` when unreadable."""
    return key_ring().rotate(_token_bytes(token)).decode("ascii")
