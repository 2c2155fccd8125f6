"""What a secret is once loaded: its ciphertext (``StoredSecret``) until code reads it, then
its plaintext (``SecretText``); and whether a row holds one, asked without reading it.

Apart from ``endpoints.fields`` so that the form and serializer fields the model field
builds can use them without importing it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.core.exceptions import FieldDoesNotExist
from django.db import models


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys decrypts."""


@dataclass(frozen=True, slots=True)
class StoredSecret:
    """The ciphertext of a secret as loaded from the database."""

    token: str = ""

    def __repr__(self) -> str:
        return "StoredSecret(…)"


class SecretText(str):
    """A secret's plaintext: the text itself to every use, but not to ``repr``.

    What shows a value by its ``repr`` (the locals of a traceback on Django's DEBUG page,
    in the error report and the admins' e-mail; ``%r`` in a log message) shows
    ``SecretText(…)``, whatever the variable is called: the frames that save a secret or
    send it hold it as ``value`` or ``plaintext``, names no filter knows to hide. Text made
    from it (an f-string, a header) is a plain ``str`` again.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "SecretText(…)"


class DecryptedSecret(SecretText):
    """A secret's plaintext as read from its ciphertext, which it keeps: assigned back (as
    ``Model.clean_fields`` does with every value it validates), it puts the ciphertext back
    instead of encrypting the secret again."""

    def __new__(cls, text: str, stored: StoredSecret) -> DecryptedSecret:
        secret = super().__new__(cls, text)
        secret.stored = stored
        return secret


def secret_text(value: Any) -> Any:
    """``value`` as a ``SecretText`` if it is non-empty text, else as it is."""
    return SecretText(value) if isinstance(value, str) and value else value


SecretState = Literal["set", "unset", "unreadable"]


def has_secret(instance: models.Model, field_name: str) -> bool:
    """Whether ``instance`` stores a secret in ``field_name``, without decrypting it.

    Reads the raw attribute only, so it needs no key and works when the key is lost.
    """
    return bool(instance.__dict__.get(instance._meta.get_field(field_name).attname))


def secret_state(instance: models.Model, field_name: str) -> SecretState:
    """Whether ``instance`` holds a readable secret in ``field_name``, without showing it."""
    if not has_secret(instance, field_name):
        return "unset"
    try:
        getattr(instance, field_name)
    except SecretUnreadable:
        return "unreadable"
    return "set"


def stored_state(instance: models.Model | None, field_name: str) -> SecretState:
    """``secret_state`` of a saved row; ``"unset"`` for a row not saved yet (or none), or
    for a name that is none of its fields (a form's own secret input)."""
    if instance is None or instance.pk is None:
        return "unset"
    try:
        return secret_state(instance, field_name)
    except FieldDoesNotExist:
        return "unset"
