"""Admin for Genesys Cloud: the settings inline on the endpoint page and OAuth2 connections."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from endpoints.admin import ProviderSettingsInline, SecretFormAdminMixin, TestConnectionMixin
from endpoints.fields import secret_state
from endpoints.providers import Finding
from genesys.diagnostics import connection_findings
from genesys.forms import GenesysSettingsForm, OAuth2ConnectionForm
from genesys.models import GenesysSettings, OAuth2Connection


class GenesysSettingsInline(ProviderSettingsInline):
    provider_id = "genesys"
    model = GenesysSettings
    form = GenesysSettingsForm
    verbose_name = _("Genesys Cloud")
    verbose_name_plural = _("Genesys Cloud")


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
