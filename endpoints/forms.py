"""Form pieces every provider's settings share: write-only secrets."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from endpoints.fields import SecretState, secret_state
from endpoints.validators import reject_control_characters

SECRET_SET = _("A secret is stored. Leave blank to keep it; type a new one to replace it.")
SECRET_UNREADABLE = _("Secret unreadable (the key it was encrypted with is gone): enter it again.")
SECRET_UNREADABLE_ERROR = _("The stored secret is unreadable: enter it again.")


class WriteOnlySecretField(forms.CharField):
    """A secret typed in and never rendered back, not even masked (and no autofill)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault("validators", [reject_control_characters])
        kwargs.setdefault(
            "widget",
            forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        )
        super().__init__(**kwargs)


class WriteOnlySecretsMixin:
    """A model form whose ``EncryptedTextField`` secrets are write-only.

    ``secret_fields`` maps each such form field (a ``WriteOnlySecretField`` named like the
    model field, which the form's ``Meta.exclude`` keeps the form from filling) to its help
    text while no secret is stored. Blank on edit keeps the stored ciphertext as it is; the
    help text says whether a secret is set. ``require_secret`` refuses a blank field where a
    secret is needed and none is readable.
    """

    secret_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secret_states: dict[str, SecretState] = {}
        for name, unset_help in self.secret_fields.items():
            state = secret_state(self.instance, name) if self.instance.pk else "unset"
            self.secret_states[name] = state
            self.fields[name].help_text = {
                "set": SECRET_SET,
                "unset": unset_help,
                "unreadable": SECRET_UNREADABLE,
            }[state]

    def require_secret(self, name: str, message: str) -> None:
        """Add an error to ``name`` unless a secret is typed in or a readable one is stored."""
        if self.cleaned_data.get(name):
            return
        state = self.secret_states[name]
        if state == "unreadable":
            self.add_error(name, ValidationError(SECRET_UNREADABLE_ERROR, code="unreadable"))
        elif state == "unset":
            self.add_error(name, ValidationError(message, code="required"))

    def save(self, commit: bool = True) -> Any:
        for name in self.secret_fields:
            if secret := self.cleaned_data.get(name):
                setattr(self.instance, name, secret)
        return super().save(commit)
