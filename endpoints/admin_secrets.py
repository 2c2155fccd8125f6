"""The admin side of secrets, found in the model's ``_meta`` (its ``EncryptedTextField``s).

The form side needs nothing here: the admin builds each secret's input from the model
field (``EncryptedTextField.formfield``). No registrations here, so any admin module may
import it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from endpoints.fields import EncryptedTextField, encrypted_fields, secret_state
from endpoints.forms import SecretsModelForm

SECRET_STATES = {
    "set": _("set"),
    "unset": _("not set"),
    "unreadable": _("unreadable, enter it again"),
}


def secret_label(field: EncryptedTextField) -> str:
    """The secret's label, as its form field shows it."""
    return capfirst(field.verbose_name)


class SecretStatusColumn:
    """A changelist column: "set", "not set" or "unreadable" for each secret of a row."""

    def __init__(self, fields: list[EncryptedTextField]) -> None:
        self.fields = fields
        self.short_description = secret_label(fields[0]) if len(fields) == 1 else _("Secrets")

    def __call__(self, obj: Model) -> str:
        if len(self.fields) == 1:
            return str(SECRET_STATES[secret_state(obj, self.fields[0].name)])
        return ", ".join(
            f"{secret_label(field)}: {SECRET_STATES[secret_state(obj, field.name)]}"
            for field in self.fields
        )


class SecretsAdminMixin:
    """A model admin or inline whose model has secrets.

    - To a user who may only view, each secret shows as "set / not set" (read-only, the
      admin would render a field's model value, which for an ``EncryptedTextField`` is the
      decrypted secret): the fieldsets name ``stored_secrets`` in its place.
    - Django's error reports never show them: ``sensitive_post_parameters`` on the add and
      change views.
    - ``secret_status`` is a changelist column saying whether each is set.
    - Its default form is a ``SecretsModelForm`` (a secret kept is not read to validate it).

    ``endpoints.checks`` refuses an admin of a model with secrets that lacks this mixin.
    """

    model: type[Model]
    form = SecretsModelForm

    def secret_fields(self) -> list[EncryptedTextField]:
        return encrypted_fields(self.model)

    def _secret_names(self) -> list[str]:
        return [field.name for field in self.secret_fields()]

    def _shows_read_only(self, request: HttpRequest, obj: Model | None) -> bool:
        # obj is the object (a model admin) or its parent (an inline); an add form is
        # never read-only.
        return obj is not None and not self.has_change_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        names = self._secret_names()
        if not (names and self._shows_read_only(request, obj)):
            return fieldsets
        redacted = []
        for name, options in fieldsets:
            fields: list[Any] = []
            for field in options["fields"]:
                if field in names:
                    field = "stored_secrets"
                if field not in fields:
                    fields.append(field)
            redacted.append((name, {**options, "fields": fields}))
        return redacted

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        if self._secret_names() and self._shows_read_only(request, obj):
            return [*fields, "stored_secrets"]
        return fields

    @admin.display(description=_("Secrets"))
    def stored_secrets(self, obj: Model) -> str:
        return format_html_join(
            mark_safe("<br>"),
            "{}: {}",
            (
                (secret_label(field), SECRET_STATES[secret_state(obj, field.name)])
                for field in self.secret_fields()
            ),
        )

    @property
    def secret_status(self) -> SecretStatusColumn:
        return SecretStatusColumn(self.secret_fields())

    def _sensitive(self, view: Any) -> Any:
        names = self._secret_names()
        return sensitive_post_parameters(*names)(view) if names else view

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._sensitive(super().add_view)(request, *args, **kwargs)

    def change_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._sensitive(super().change_view)(request, *args, **kwargs)
