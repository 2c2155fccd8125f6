"""``EncryptedTextField``: a secret stored encrypted, read only when code asks for it.

A loaded row holds the ciphertext (a ``StoredSecret``) and decrypts it on attribute access,
so a row whose key is gone still loads, lists and saves; only reading the secret fails,
with an error that names the model, the row and the field. Saving a row whose secret was
not reassigned writes the stored ciphertext back byte for byte: ciphertext is never
encrypted again as if it were the secret.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import checks
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from endpoints import crypto
from endpoints.forms import WriteOnlySecretField
from endpoints.secret_values import (
    DecryptedSecret,
    SecretState,
    SecretText,
    SecretUnreadable,
    StoredSecret,
    has_secret,
    secret_state,
    secret_text,
)

# Imported from here by most callers: the field and what its values are, side by side.
__all__ = [
    "EncryptedTextField",
    "SecretState",
    "SecretText",
    "SecretUnreadable",
    "StoredSecret",
    "encrypted_fields",
    "has_secret",
    "secret_state",
]


class EncryptedFieldDescriptor(DeferredAttribute):
    """Decrypts on read; the instance keeps the ciphertext until a new value is assigned.

    A data descriptor (it has ``__set__``), so reads pass through it even though the
    value lives in the instance's ``__dict__``. The plaintext, assigned or decrypted, is a
    ``SecretText``; a decrypted one assigned back restores its ciphertext, byte for byte.
    """

    def __set__(self, instance: models.Model, value: Any) -> None:
        if isinstance(value, DecryptedSecret):
            instance.__dict__[self.field.attname] = value.stored
            return
        instance.__dict__[self.field.attname] = secret_text(value)

    def __get__(self, instance: models.Model | None, cls: type | None = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if not isinstance(value, StoredSecret):
            return value
        try:
            return DecryptedSecret(crypto.decrypt(value.token), value)
        except crypto.InvalidToken:
            raise SecretUnreadable(
                f"Cannot read {instance._meta.label}.{self.field.name} of row pk={instance.pk}: "
                "none of the keys in FIELD_ENCRYPTION_KEYS decrypts it. Add back the key it "
                "was encrypted with, or enter the secret again."
            ) from None


class EncryptedTextField(models.TextField):
    """A text secret, encrypted with the key ring of ``endpoints.crypto``.

    Every value of this field is sensitive (``sensitive``): the declaration here is the only
    one. A model form gets a write-only input from ``formfield()``, where blank keeps the
    stored secret (``save_form_data``) and ``blank=False`` means one must be stored (its
    ``blank`` error message is the form's); the admin finds the field in ``_meta``
    (``endpoints.admin_secrets``), DRF maps it to a write-only field
    (``endpoints.api.secret_fields``), and the log filter masks values under its name
    (``security.sensitive_names``). Lookups other than ``isnull`` are refused (the
    ciphertext is randomised, so the database cannot compare it), as are ``unique`` and
    ``db_index``.
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

    def formfield(self, **kwargs: Any) -> forms.Field:
        # A widget or form class offered for a text field (the admin offers a textarea for
        # every TextField; a form's Meta may too) would render the value: never used.
        kwargs.pop("widget", None)
        form_class = kwargs.pop("form_class", None)
        if not (isinstance(form_class, type) and issubclass(form_class, WriteOnlySecretField)):
            form_class = WriteOnlySecretField
        kwargs["error_messages"] = {
            "required": self.error_messages["blank"],
            **kwargs.get("error_messages", {}),
        }
        kwargs["show_hidden_initial"] = False
        # models.Field's, not TextField's: that one adds a textarea and max_length=None.
        return models.Field.formfield(self, form_class=form_class, **kwargs)

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        if data:  # blank keeps what is stored, byte for byte
            setattr(instance, self.name, data)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{self.model.__name__}.{self.name} is encrypted and cannot be compared in the "
            f"database ('{lookup_name}' lookup refused): filter on another field."
        )

    def get_transform(self, lookup_name: str) -> Any:
        return None


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    """The encrypted fields of ``model``."""
    return [field for field in model._meta.concrete_fields if isinstance(field, EncryptedTextField)]
