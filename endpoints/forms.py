"""The form field of every secret: write-only, and blank keeps what is stored.

``EncryptedTextField.formfield()`` builds it, so a ``ModelForm`` (and the admin) that lists
a secret gets it with no declaration of its own: the model field's label, its help text
while no secret is stored, and ``blank=False`` meaning "a secret must be stored".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.forms.boundfield import BoundField
from django.utils.translation import gettext_lazy as _

from endpoints.secret_values import SecretState, secret_text, stored_state
from endpoints.validators import reject_control_characters

SECRET_SET = _("A secret is stored. Leave blank to keep it; type a new one to replace it.")
SECRET_UNREADABLE = _("Secret unreadable (the key it was encrypted with is gone): enter it again.")
SECRET_UNREADABLE_ERROR = _("The stored secret is unreadable: enter it again.")


class WriteOnlySecretField(forms.CharField):
    """A secret typed in and never rendered back, not even masked (and no autofill).

    Left blank it changes nothing (the model field keeps the stored ciphertext). Its help
    text says whether a secret is stored; ``required`` means that one must be stored:
    typed in now, or kept readable. The stored state is read from the form's instance when
    the form binds the field (the form's own copy of it).
    """

    default_error_messages = {"unreadable": SECRET_UNREADABLE_ERROR}
    #: A subclass that checks the characters more strictly replaces this one (one message).
    default_validators = [reject_control_characters]

    def __init__(self, *, required: bool = False, **kwargs: Any) -> None:
        if "widget" in kwargs:
            raise ImproperlyConfigured(
                "A secret's input is always a password input that renders no value."
            )
        kwargs.setdefault("max_length", 1000)
        kwargs["widget"] = forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password"}
        )
        # Blank passes Django's own check: whether that is allowed depends on what is stored.
        super().__init__(required=False, **kwargs)
        self.secret_required = required
        self.unset_help_text = self.help_text
        self.stored_state: SecretState = "unset"

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> BoundField:
        self.stored_state = stored_state(getattr(form, "instance", None), field_name)
        self.help_text = {
            "set": SECRET_SET,
            "unset": self.unset_help_text,
            "unreadable": SECRET_UNREADABLE,
        }[self.stored_state]
        return super().get_bound_field(form, field_name)

    def prepare_value(self, value: Any) -> None:
        return None  # nothing is rendered back: neither what is stored nor what was typed

    def has_changed(self, initial: Any, data: Any) -> bool:
        return bool(data) and not self.disabled

    def clean(self, value: Any) -> Any:
        value = secret_text(super().clean(value))
        if not value and self.secret_required:
            self.refuse_blank(self.error_messages["required"])
        return value

    def refuse_blank(self, message: str) -> None:
        """Refuse a blank value unless a readable secret is stored."""
        if self.stored_state == "unreadable":
            raise ValidationError(self.error_messages["unreadable"], code="unreadable")
        if self.stored_state == "unset":
            raise ValidationError(message, code="required")


class SecretsModelForm(forms.ModelForm):
    """A model form that leaves out of model validation each secret left blank (kept).

    Validating a kept secret would read it, and a stored secret that no configured key
    opens cannot be read: a plain ``ModelForm`` raises ``SecretUnreadable`` there for a
    secret with ``blank=True`` (Django already leaves out a blank one with ``blank=False``).
    The admin's secrets mixin makes this its default form.
    """

    def _get_validation_exclusions(self) -> set[str]:
        exclude = super()._get_validation_exclusions()
        for name, field in self.fields.items():
            if isinstance(field, WriteOnlySecretField) and not self.cleaned_data.get(name):
                exclude.add(name)
        return exclude


def require_secret(form: forms.BaseForm, name: str, message: str) -> None:
    """Add an error to the secret ``name`` left blank unless a readable one is stored: for a
    secret that only some choices need (the callback signing secret, with a callback URL)."""
    field = form.fields.get(name)
    if not isinstance(field, WriteOnlySecretField) or form.cleaned_data.get(name):
        return
    try:
        field.refuse_blank(message)
    except ValidationError as error:
        form.add_error(name, error)
