"""Channels and their API keys in the admin.

A key is issued on "Add channel API key": the next page shows it once, in that response
only (not in a message, a cookie or the session), with how to send it. Afterwards the admin
shows its prefix (to recognise it), its expiry, whether it is revoked and when it was last
used; the key itself is stored hashed and cannot be shown again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from endpoints.api import credentials
from endpoints.models import Channel, ChannelAPIKey

# The library registers its own, channel-less key model: nothing here authenticates with it.
admin.site.unregister(APIKey)

KEY_FIELDS = ["prefix", "name", "created", "expiry_date", "revoked", "last_used_at"]


class ChannelAPIKeyInline(admin.TabularInline):
    """The channel's keys, read-only: issue one with "Issue an API key"."""

    model = ChannelAPIKey
    fields = KEY_FIELDS
    readonly_fields = KEY_FIELDS
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "endpoint_count", "key_count", "created"]
    search_fields = ["name"]
    autocomplete_fields = ["endpoints"]
    readonly_fields = ["created", "issue_key"]
    inlines = [ChannelAPIKeyInline]

    def get_fields(self, request: HttpRequest, obj: Channel | None = None) -> list[str]:
        fields = ["name", "description", "endpoints"]
        return fields if obj is None else [*fields, "created", "issue_key"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Channel]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                endpoint_count=Count("endpoints", distinct=True),
                key_count=Count("api_keys", distinct=True),
            )
            .order_by("name")  # Meta.ordering does not survive the GROUP BY
        )

    @admin.display(description=_("endpoints"), ordering="endpoint_count")
    def endpoint_count(self, channel: Channel) -> int:
        return channel.endpoint_count

    @admin.display(description=_("API keys"), ordering="key_count")
    def key_count(self, channel: Channel) -> int:
        return channel.key_count

    @admin.display(description=_("API keys"))
    def issue_key(self, channel: Channel) -> str:
        url = reverse("admin:endpoints_channelapikey_add")
        return format_html(
            '<a class="addlink" href="{}?channel={}">{}</a>', url, channel.pk, _("Issue an API key")
        )


@admin.register(ChannelAPIKey)
class ChannelAPIKeyAdmin(APIKeyModelAdmin):
    """Issue (shown once), expire, revoke; the prefix names a key, ``last used`` says
    whether it is still in use before revoking it.
    """

    list_display = [
        "prefix",
        "name",
        "channel",
        "created",
        "expiry_date",
        "_has_expired",
        "revoked",
        "last_used_at",
    ]
    list_filter = ["revoked", "created", "expiry_date"]
    list_select_related = ["channel"]
    search_fields = ["name", "prefix", "channel__name"]
    autocomplete_fields = ["channel"]
    actions = ["revoke"]
    issued_template = "admin/endpoints/channelapikey/issued.html"

    def get_fields(self, request: HttpRequest, obj: ChannelAPIKey | None = None) -> list[str]:
        if obj is None:
            return ["channel", "name", "expiry_date"]
        return ["prefix", "channel", "name", "expiry_date", "revoked", "created", "last_used_at"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ChannelAPIKey | None = None
    ) -> tuple[str, ...]:
        # The library's: the prefix, and everything once revoked (it cannot be undone).
        fields = (*super().get_readonly_fields(request, obj), "created", "last_used_at")
        # A key stays with the channel it was issued to.
        return fields if obj is None else (*fields, "channel")

    @sensitive_variables("key")
    def save_model(self, request: HttpRequest, obj: ChannelAPIKey, form: Any, change: bool) -> None:
        if change:
            obj.save()
            return
        key = self.model.objects.assign_key(obj)
        obj.save()
        # For response_add only; the library would put it in a message (a cookie).
        obj._issued_key = key

    @sensitive_variables("context")
    def response_add(
        self, request: HttpRequest, obj: ChannelAPIKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        key = getattr(obj, "_issued_key", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Copy the API key now"),
            "api_key": obj,
            "key": key,
        }
        # The admin's views already send Cache-Control: no-store (never_cache).
        return TemplateResponse(request, self.issued_template, context)

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ChannelAPIKey]) -> None:
        to_revoke = queryset.filter(revoked=False)
        prefixes = list(to_revoke.values_list("prefix", flat=True))
        count = to_revoke.update(revoked=True)
        # An update sends no signal: forget the keys verified lately by hand.
        credentials.forget(credentials.API_KEY, prefixes)
        self.message_user(
            request,
            ngettext(
                "%(count)d key revoked: it no longer authenticates.",
                "%(count)d keys revoked: they no longer authenticate.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
