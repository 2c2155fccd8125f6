"""Admin for Genesys Cloud: the settings inline on the endpoint page and OAuth2 connections."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from endpoints.admin import ProviderSettingsInline, SecretFormAdminMixin, TestConnectionMixin
from endpoints.fields import secret_state
from endpoints.providers import Finding
from genesys.diagnostics import connection_findings
from genesys.forms import GenesysSettingsForm, OAuth2ConnectionForm, OpenMessagingSettingsForm
from genesys.models import (
    OPEN_MESSAGING_FIELDS,
    GenesysSettings,
    OAuth2Connection,
    OpenMessagingSettings,
)


class GenesysSettingsInline(ProviderSettingsInline):
    provider_id = "genesys"
    model = GenesysSettings
    form = GenesysSettingsForm
    verbose_name = _("Genesys Cloud")
    verbose_name_plural = _("Genesys Cloud")


class OpenMessagingSettingsInline(ProviderSettingsInline):
    provider_id = "genesys_om"
    model = OpenMessagingSettings
    form = OpenMessagingSettingsForm
    verbose_name = _("Genesys Cloud Open Messaging")
    verbose_name_plural = _("Genesys Cloud Open Messaging")
    fields = [*OPEN_MESSAGING_FIELDS, "webhook_secret", "webhook_url", "end_webhook_url"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # The form shows absolute webhook URLs: give it this request to build them from.
        kwargs["form"] = type(self.form.__name__, (self.form,), {"request": request})
        return super().get_formset(request, obj, **kwargs)


@admin.register(OAuth2Connection)
class OAuth2ConnectionAdmin(SecretFormAdminMixin, TestConnectionMixin, admin.ModelAdmin):
    form = OAuth2ConnectionForm
    actions = ["test_connection"]
    fields = ["name", "oauth_url", "client_id", "client_secret", "scope"]
    list_display = ["name", "oauth_url", "client_id", "secret_status", "updated_at"]
    search_fields = ["name", "client_id"]

    def connection_findings(self, obj: OAuth2Connection) -> list[Finding]:
        return connection_findings(obj)

    @admin.display(description=_("Client Secret"))
    def secret_status(self, obj: OAuth2Connection) -> str:
        return {
            "set": _("set"),
            "unset": _("not set"),
            "unreadable": _("unreadable, enter it again"),
        }[secret_state(obj, "client_secret")]
