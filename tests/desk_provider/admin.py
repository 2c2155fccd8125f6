"""The Test Desk's part of the endpoint page (no admin of its own: the inline is declared by
``DeskProvider.admin_inline``, and the endpoint admin shows every provider's)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms

from endpoints.admin import ProviderSettingsInline
from endpoints.forms import WriteOnlySecretField, WriteOnlySecretsMixin
from tests.desk_provider.models import DeskSettings


class DeskSettingsForm(WriteOnlySecretsMixin, forms.ModelForm):
    """The API token is write-only: blank on edit keeps it."""

    api_token = WriteOnlySecretField(label="API Token")
    secret_fields: ClassVar[dict[str, str]] = {
        "api_token": "The desk's API token. Stored encrypted; never shown again."
    }

    class Meta:
        model = DeskSettings
        fields = ["desk_url", "session_duration_minutes"]
        exclude = ["api_token"]  # noqa: DJ006 (fields is set; this keeps the admin off it)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.require_secret("api_token", "Enter the desk's API token.")
        return cleaned


class DeskSettingsInline(ProviderSettingsInline):
    provider_id = "desk"
    model = DeskSettings
    form = DeskSettingsForm
    verbose_name = "Test Desk"
    verbose_name_plural = "Test Desk"
