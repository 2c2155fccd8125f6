"""Admin for Genesys Cloud: the settings inline on the endpoint page, OAuth2 connections and
the Open Messaging webhook calls waiting or dead-lettered (read-only, with Replay)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from endpoints.admin import ProviderSettingsInline, TestConnectionMixin
from endpoints.admin_mixins import ReadOnlyAdminMixin
from endpoints.admin_secrets import SecretsAdminMixin
from endpoints.providers import Finding
from genesys.diagnostics import connection_findings
from genesys.forms import GenesysSettingsForm, OAuth2ConnectionForm, OpenMessagingSettingsForm
from genesys.models import (
    OPEN_MESSAGING_FIELDS,
    GenesysSettings,
    OAuth2Connection,
    OpenMessagingInbox,
    OpenMessagingSettings,
)
from genesys.open_messaging.tasks import om_webhook_task


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
    fields = [
        *OPEN_MESSAGING_FIELDS,
        "webhook_secret",
        "webhook_url",
        "end_webhook_url",
        "end_webhook_secret",
    ]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # The form shows absolute webhook URLs: give it this request to build them from.
        kwargs["form"] = type(self.form.__name__, (self.form,), {"request": request})
        return super().get_formset(request, obj, **kwargs)


@admin.register(OAuth2Connection)
class OAuth2ConnectionAdmin(SecretsAdminMixin, TestConnectionMixin, admin.ModelAdmin):
    form = OAuth2ConnectionForm
    actions = ["test_connection"]
    fields = ["name", "oauth_url", "client_id", "client_secret", "scope"]
    list_display = ["name", "oauth_url", "client_id", "secret_status", "updated_at"]
    search_fields = ["name", "client_id"]

    def connection_findings(self, obj: OAuth2Connection) -> list[Finding]:
        return connection_findings(obj)


class DeadLetterFilter(admin.SimpleListFilter):
    title = _("dead letter")
    parameter_name = "dead"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(dead_at__isnull=self.value() == "no")
        return queryset


@admin.register(OpenMessagingInbox)
class OpenMessagingInboxAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The webhook calls the worker has not recorded yet: waiting, failing (attempts, last
    error) or dead-lettered. Read-only; Replay hands dead letters back to the worker."""

    actions = ["replay"]
    list_display = ["__str__", "settings", "received_at", "attempts", "last_error", "dead_at"]
    list_filter = [DeadLetterFilter]
    list_select_related = ["settings__endpoint"]
    fields = ["settings", "received_at", "attempts", "last_error", "dead_at", "payload"]
    readonly_fields = fields

    # The webhook adds calls and the worker removes them: nobody edits one here.
    def has_replay_permission(self, request: HttpRequest) -> bool:
        """Replaying takes the model's ``change`` permission."""
        return self.has_model_change_permission(request)

    @admin.action(description=_("Replay"), permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[OpenMessagingInbox]) -> None:
        """Record the calls again, from the first attempt: their endpoints' tasks run (a
        replayed call comes first again, before the endpoint's later calls)."""
        settings_ids = set(queryset.order_by().values_list("settings_id", flat=True).distinct())
        replayed = queryset.update(dead_at=None, attempts=0, next_attempt_at=None)
        for settings_id in settings_ids:
            transaction.on_commit(partial(om_webhook_task.delay, settings_id))
        self.message_user(
            request,
            ngettext(
                "%d webhook call handed to the worker again.",
                "%d webhook calls handed to the worker again.",
                replayed,
            )
            % replayed,
            messages.SUCCESS,
        )
