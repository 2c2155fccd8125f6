"""The serializer fields of a secret: write-only, and ``has_<secret>`` to say one is stored.

``install()`` (``EndpointsConfig.ready``) maps ``EncryptedTextField`` to
``WriteOnlySecretSerializerField`` in DRF's default field mapping, so every model
serializer that lists a secret, ours or a provider's, takes it in and never shows it.
``RedactedModelSerializer`` builds ``has_<secret>`` for any secret of its model.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from endpoints.fields import EncryptedTextField
from endpoints.forms import SECRET_UNREADABLE_ERROR
from endpoints.secret_values import SecretState, has_secret, secret_text, stored_state
from endpoints.validators import reject_control_characters

PRESENCE_PREFIX = "has_"


class WriteOnlySecretSerializerField(serializers.CharField):
    """A secret taken in and never shown; blank or absent keeps what is stored.

    ``required`` means that a secret must be stored: sent now, or kept readable (a partial
    update need not send it).
    """

    default_error_messages = {"unreadable": SECRET_UNREADABLE_ERROR}

    def __init__(self, *, required: bool = True, **kwargs: Any) -> None:
        if kwargs.pop("read_only", False):
            raise ImproperlyConfigured("A secret is write-only: it cannot be read_only.")
        # What DRF's mapping offers a text field: a textarea, blank and null as values.
        for option in ("model_field", "style", "allow_blank", "allow_null"):
            kwargs.pop(option, None)
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault("validators", [reject_control_characters])
        super().__init__(
            write_only=True, required=False, style={"input_type": "password"}, **kwargs
        )
        self.secret_required = required

    def _stored_state(self) -> SecretState:
        instance = getattr(self.parent, "instance", None)
        if not isinstance(instance, models.Model):
            return "unset"
        return stored_state(instance, self.source)

    def run_validation(self, data: Any = empty) -> Any:
        if not (data is empty or data is None or (isinstance(data, str) and not data.strip())):
            return super().run_validation(data)
        # Nothing sent (absent, null or blank): what is stored stays, if that may be.
        if self.secret_required and not (data is empty and getattr(self.root, "partial", False)):
            state = self._stored_state()
            if state == "unreadable":
                self.fail("unreadable")
            if state == "unset":
                self.fail("required")
        raise SkipField()

    def to_internal_value(self, data: Any) -> Any:
        return secret_text(super().to_internal_value(data))


class SecretPresenceField(serializers.BooleanField):
    """``has_<secret>``: whether a secret is stored, read without decrypting it (so it needs
    no key and works when the key is lost)."""

    def __init__(self, *, secret_name: str, **kwargs: Any) -> None:
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self.secret_name = secret_name

    def to_representation(self, instance: models.Model) -> bool:
        return has_secret(instance, self.secret_name)


def presence_field(
    model: type[models.Model], field_name: str
) -> tuple[type[SecretPresenceField], dict[str, Any]] | None:
    """The field class and arguments of ``has_<secret>`` when ``field_name`` names one."""
    if not field_name.startswith(PRESENCE_PREFIX):
        return None
    name = field_name.removeprefix(PRESENCE_PREFIX)
    secret = next((f for f in model._meta.concrete_fields if f.name == name), None)
    if not isinstance(secret, EncryptedTextField):
        return None
    help_text = _("Whether a %(secret)s is stored. The secret itself is never returned.") % {
        "secret": secret.verbose_name
    }
    return SecretPresenceField, {"secret_name": name, "help_text": help_text}


def install() -> None:
    """Map every ``EncryptedTextField`` of a model serializer to a write-only field."""
    serializers.ModelSerializer.serializer_field_mapping[EncryptedTextField] = (
        WriteOnlySecretSerializerField
    )
