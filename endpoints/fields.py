"""``EncryptedTextField``: a secret stored encrypted, read only when code asks for it.

A loaded row holds the ciphertext (a ``StoredSecret``) and decrypts it on attribute access,
so a row whose key is gone still loads, lists and saves; only reading the secret fails,
with an error that names the model, the row and the field. Saving a row whose secret was
not reassigned writes the stored ciphertext back byte for byte: ciphertext is never
encrypted again as if it were the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.core import checks
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from endpoints import crypto


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


def _secret_text(value: Any) -> Any:
    return SecretText(value) if isinstance(value, str) and value else value


class EncryptedFieldDescriptor(DeferredAttribute):
    """Decrypts on read; the instance keeps the ciphertext until a new value is assigned.

    A data descriptor (it has ``__set__``), so reads pass through it even though the
    value lives in the instance's ``__dict__``. The plaintext, assigned or decrypted, is a
    ``SecretText``.
    """

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = _secret_text(value)

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if not isinstance(value, StoredSecret):
            return value
        try:
            return SecretText(crypto.decrypt(value.token))
        except crypto.InvalidToken:
            raise SecretUnreadable(
                f"Cannot read {instance._meta.label}.{self.field.name} of row pk={instance.pk}: "
                "none of the keys in FIELD_ENCRYPTION_KEYS decrypts it. Add back the key it "
                "was encrypted with, or enter the secret again."
            ) from None


class EncryptedTextField(models.TextField):
    """A text secret, encrypted with the key ring of ``endpoints.crypto``.

    Every value of this field is sensitive: forms, the admin, the API and logs must never
    show it. Lookups other than ``isnull`` are refused (the ciphertext is randomised, so the
    database cannot compare it), as are ``unique`` and ``db_index``.
    """

    descriptor_class = EncryptedFieldDescriptor
    sensitive = True

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if self.unique or self.db_index or self.primary_key:
            errors.append(
                checks.Error(
                    "EncryptedTextField cannot be unique, indexed or a primary key.",
                    hint="Its ciphertext differs on every save; remove unique/db_index.",
                    obj=self,
                    id="endpoints.E101",
                )
            )
        return errors

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return StoredSecret(value)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, StoredSecret):
            return value.token
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # The raw attribute, not the decrypted one: an untouched secret stays as stored.
        return model_instance.__dict__.get(self.attname)

    def value_from_object(self, obj: models.Model) -> Any:
        return obj.__dict__.get(self.attname)

    def value_to_string(self, obj: models.Model) -> str:
        return self.get_prep_value(self.value_from_object(obj)) or ""

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{self.model.__name__}.{self.name} is encrypted and cannot be compared in the "
            f"database ('{lookup_name}' lookup refused): filter on another field."
        )

    def get_transform(self, lookup_name: str) -> Any:
        return None


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


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    """The encrypted fields of ``model``."""
    return [field for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
