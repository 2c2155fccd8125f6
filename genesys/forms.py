"""Forms for the Genesys Cloud settings and OAuth2 connections, with errors that say the fix."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from endpoints.fields import SecretUnreadable
from endpoints.forms import SecretsModelForm, WriteOnlySecretField
from endpoints.validators import PrintableAsciiValidator
from genesys.models import (
    GENESYS_SETTINGS_FIELDS,
    OPEN_MESSAGING_FIELDS,
    OPEN_MESSAGING_SECRET_MIN_LENGTH,
    SESSION_DURATION_MAX,
    GenesysSettings,
    OAuth2Connection,
    OpenMessagingSettings,
)
from genesys.platform import regions

UUID_EXAMPLE = "0f4e6f4c-6a1e-4f3c-9a8d-3d2b7e5c1a90"
INVALID_UUID = _("Enter a valid ID: a UUID such as %(example)s.") % {"example": UUID_EXAMPLE}
SESSION_DURATION_ERROR = _("Enter a whole number of minutes from 1 to %(max)d.") % {
    "max": SESSION_DURATION_MAX
}
_QUEUE_ID_IN_URL = re.compile(r"/queues/([0-9a-fA-F-]{36})(?:[/?#]|$)")
# HTTP Basic (the token request) carries only these; Genesys Cloud issues client IDs as UUIDs
# and secrets as letters, digits and punctuation. The messages never show the value.
CLIENT_ID_CHARACTERS = PrintableAsciiValidator(
    _(
        "The Client ID may hold only printable ASCII characters (no accents, symbols such as "
        "€, or invisible characters), as Genesys Cloud issues it, e.g. %(example)s: copy it "
        "again from Genesys Cloud."
    )
    % {"example": UUID_EXAMPLE}
)
CLIENT_SECRET_CHARACTERS = PrintableAsciiValidator(
    _(
        "The client secret may hold only printable ASCII characters (letters, digits and "
        "punctuation; no accents, symbols such as €, or invisible characters), as Genesys "
        "Cloud issues them: copy it again from Genesys Cloud and check that it was pasted whole."
    )
)


class RegionHostField(forms.ChoiceField):
    """A select of the Genesys Cloud regions that also accepts a pasted host or URL."""

    def __init__(self, *, max_length: int | None = None, empty_value: Any = "", **kwargs: Any):
        kwargs.setdefault("choices", [("", "---------"), *regions.region_choices()])
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        return regions.normalise_host(value) if value else ""

    def validate(self, value: str) -> None:
        # normalise_host() already refused anything outside the region table.
        forms.Field.validate(self, value)


class QueueIdField(forms.UUIDField):
    """A queue's UUID, also taken from a pasted Genesys Cloud queue page address."""

    def to_python(self, value: Any) -> uuid.UUID | None:
        text = str(value or "").strip()
        if "/" in text or ":" in text:
            match = _QUEUE_ID_IN_URL.search(text)
            if match is None:
                raise ValidationError(
                    _(
                        "That address has no queue ID in it. Open the queue in Genesys Cloud "
                        "(Admin → Contact Center → Queues) and copy its address, e.g. "
                        "https://apps.mypurecloud.de/directory/#/admin/organization/queues/"
                        "%(example)s/general, or paste just the ID."
                    ),
                    code="no_queue_id",
                    params={"example": UUID_EXAMPLE},
                )
            text = match.group(1)
        return super().to_python(text)


class ClientSecretField(WriteOnlySecretField):
    """The OAuth client's secret: what HTTP Basic carries (the one validator covers control
    characters too: one message, not two)."""

    default_validators = [CLIENT_SECRET_CHARACTERS]


class GenesysQueueSettingsForm(SecretsModelForm):
    """Base of the Genesys Cloud settings forms (web chat, Open Messaging): the region and
    queue inputs, and errors that say the fix (a UUID example, the session's range)."""

    class Meta:
        field_classes = {"host": RegionHostField, "queue_id": QueueIdField}
        widgets = {"host": forms.Select, "queue_id": forms.TextInput(attrs={"size": 60})}
        error_messages = {
            "session_duration_minutes": {
                code: SESSION_DURATION_ERROR for code in ("invalid", "min_value", "max_value")
            },
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.UUIDField):
                field.error_messages["invalid"] = INVALID_UUID
        if duration := self.fields.get("session_duration_minutes"):
            duration.widget.attrs.update({"min": 1, "max": SESSION_DURATION_MAX, "step": 1})


class GenesysSettingsForm(GenesysQueueSettingsForm):
    """The Genesys Cloud part of the Handover Settings."""

    class Meta(GenesysQueueSettingsForm.Meta):
        model = GenesysSettings
        fields = GENESYS_SETTINGS_FIELDS


class OAuth2ConnectionForm(SecretsModelForm):
    """An OAuth2 connection; the Client Secret is write-only (blank on edit keeps it)."""

    class Meta:
        model = OAuth2Connection
        fields = ["name", "oauth_url", "client_id", "client_secret", "scope"]
        field_classes = {"client_secret": ClientSecretField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Absent from a view-only user's form, whose fields are all read-only.
        if "client_id" in self.fields:
            self.fields["client_id"].validators.append(CLIENT_ID_CHARACTERS)


def _read_only_url(label: str, help_text: str) -> forms.CharField:
    """A URL the administrator copies from the form (shown, never submitted)."""
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        disabled=True,
        widget=forms.TextInput(attrs={"size": 90, "readonly": True}),
    )


class OpenMessagingSettingsForm(GenesysQueueSettingsForm):
    """The Genesys Cloud Open Messaging part of the Handover Settings.

    The Webhook Signature Secret is write-only (blank on edit keeps it); the webhook URLs
    are shown read-only, absolute, once the settings are saved (``request`` is set by the
    admin inline).
    """

    request = None  # the admin inline sets it on a subclass per request

    webhook_url = _read_only_url(
        _("Outbound Notification Webhook URL"),
        _(
            "Paste it into the Open Messaging integration in Genesys Cloud (Admin → Message → "
            "Platforms → your integration → Outbound Notification Webhook URL). Unique to this "
            "endpoint; keep it private."
        ),
    )
    end_webhook_url = _read_only_url(
        _("End-of-handover Webhook URL"),
        _(
            'Optional: a Genesys workflow or data action POSTs {"conversationId": …} here, '
            "signed like the webhook, when the agent ends the conversation (see the README)."
        ),
    )

    class Meta(GenesysQueueSettingsForm.Meta):
        model = OpenMessagingSettings
        fields = [*OPEN_MESSAGING_FIELDS, "webhook_secret", "end_webhook_secret"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from genesys.open_messaging.client import REQUIRED_PERMISSIONS

        self.fields["node_authentication"].help_text = _(
            "Required: every Open Messaging call is made with this OAuth2 client-credentials "
            "connection (same region as Host). Its OAuth client needs a role with: %(perms)s."
        ) % {"perms": ", ".join(REQUIRED_PERMISSIONS)}
        saved = self.instance.pk is not None
        for name, path in (
            ("webhook_url", "webhook_path"),
            ("end_webhook_url", "end_webhook_path"),
        ):
            if saved:
                relative = getattr(self.instance, path)()
                url = self.request.build_absolute_uri(relative) if self.request else relative
            else:
                url = str(_("Shown once the endpoint is saved."))
            self.initial[name] = url
            self.fields[name].initial = url

    def clean_webhook_secret(self) -> str:
        secret = self.cleaned_data["webhook_secret"]
        if secret and len(secret) < OPEN_MESSAGING_SECRET_MIN_LENGTH:
            raise ValidationError(
                _("Genesys requires more than 15 characters: enter the integration's secret."),
                code="too_short",
            )
        return secret

    def clean_end_webhook_secret(self) -> str:
        secret = self.cleaned_data["end_webhook_secret"]
        if secret and len(secret) < OPEN_MESSAGING_SECRET_MIN_LENGTH:
            raise ValidationError(
                _("Use more than 15 characters (a long random secret)."), code="too_short"
            )
        return secret

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        end_secret = cleaned.get("end_webhook_secret")
        if end_secret and end_secret == self._webhook_secret():
            # A data action sends it in a header: it must not also sign agent messages.
            self.add_error(
                "end_webhook_secret",
                ValidationError(
                    _("Use another secret than the Webhook Signature Secret."), code="same"
                ),
            )
        return cleaned

    def _webhook_secret(self) -> str:
        """The signature secret typed now, else the stored one ("" when unreadable)."""
        typed = self.cleaned_data.get("webhook_secret")
        if typed:
            return typed
        if self.instance.pk is None:
            return ""
        try:
            return self.instance.webhook_secret or ""
        except SecretUnreadable:
            return ""
