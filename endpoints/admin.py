"""The endpoint admin with its Handover Settings, and the base of every provider's inline."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from endpoints.admin_secrets import SecretsAdminMixin
from endpoints.forms import SecretsModelForm, require_secret
from endpoints.models import Endpoint
from endpoints.models.handover import OPEN_STATUSES
from endpoints.outbound_urls import validate_callback_url
from endpoints.providers import Finding, get_providers, provider_choices
from endpoints.validators import printable


class ProviderSettingsFormSet(BaseInlineFormSet):
    """A provider's settings on the endpoint page: validated and saved only while selected.

    While another provider is selected, whatever was stored stays as it was (inactive),
    and the hidden fields are neither required nor saved.
    """

    provider_id: str

    @property
    def is_active(self) -> bool:
        return self.instance.handover_provider == self.provider_id

    def full_clean(self) -> None:
        if not (self.is_bound and not self.is_active):
            super().full_clean()
            return
        self._errors = []
        self._non_form_errors = self.error_class(error_class="nonform", renderer=self.renderer)
        for form in self.forms:
            form._errors = ErrorDict()
            form.cleaned_data = {}

    def save(self, commit: bool = True) -> list[Model]:
        if self.is_active:
            return super().save(commit)
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        return []


class ProviderSettingsInline(SecretsAdminMixin, admin.StackedInline):
    """Base of a provider's settings inline: one settings row per endpoint, shown on demand.

    The fieldset carries the classes ``provider-settings provider-<id>`` that
    ``handover/provider-settings.js`` reveals when the provider is chosen.
    """

    provider_id: str
    formset = ProviderSettingsFormSet
    min_num = 1
    max_num = 1
    extra = 0
    can_delete = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.classes = ("provider-settings", f"provider-{self.provider_id}")

    def get_formset(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.provider_id = self.provider_id
        return formset


class TestConnectionMixin:
    """A "Test connection" button on the change page (and an action on the changelist).

    Subclasses implement ``connection_findings(obj)``; each finding becomes a message.
    """

    change_form_template = "admin/test_connection_change_form.html"

    def connection_findings(self, obj: Any) -> list[Finding]:
        raise NotImplementedError

    def get_urls(self) -> list[Any]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name=f"{opts.app_label}_{opts.model_name}_test_connection",
            ),
            *super().get_urls(),
        ]

    def test_connection_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        self.report_findings(request, obj)
        opts = self.model._meta
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", obj.pk)

    def report_findings(self, request: HttpRequest, obj: Any) -> None:
        findings = self.connection_findings(obj)
        for finding in findings:
            level = messages.SUCCESS if finding.ok else messages.ERROR
            self.message_user(request, f"{obj}: {finding.text}", level)

    @admin.action(description=_("Test connection"), permissions=["view"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset[:10]:
            self.report_findings(request, obj)


class CallbackURLFormField(forms.CharField):
    """The callback URL as typed (no scheme guessed, no clean-up), checked by the callback
    URL rules, whose message says why a URL is refused (not just "Enter a valid URL.")."""

    widget = forms.URLInput
    default_validators = [validate_callback_url]


class EndpointAdminForm(SecretsModelForm):
    """The endpoint; its callback signing secret is write-only (blank on edit keeps it)."""

    handover_provider = forms.ChoiceField(
        label=Endpoint._meta.get_field("handover_provider").verbose_name,
        help_text=Endpoint._meta.get_field("handover_provider").help_text,
    )

    class Meta:
        model = Endpoint
        fields = [
            "name",
            "channel_type",
            "callback_url",
            "callback_signing_secret",
            "handover_provider",
            "queue_update_seconds",
        ]
        field_classes = {"callback_url": CallbackURLFormField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["handover_provider"]
        field.choices = provider_choices()
        labels = ", ".join(label for _id, label in field.choices)
        field.error_messages["invalid_choice"] = _(
            "“%(value)s” is not a handover provider. Choose one of: {labels}."
        ).format(labels=labels)
        if "queue_update_seconds" in self.fields:  # not for a view-only admin
            self.fields["queue_update_seconds"].required = False  # left empty: off, as 0

    def clean_queue_update_seconds(self) -> int:
        return self.cleaned_data.get("queue_update_seconds") or 0

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("callback_url"):
            require_secret(
                self,
                "callback_signing_secret",
                _(
                    "A callback URL needs a signing secret, so the channel can tell the "
                    "callbacks are ours: enter one and share it with the channel."
                ),
            )
        return cleaned

    def add_error(self, field: str | None, error: Any) -> None:
        # Echo a bad choice printable and bounded, never raw.
        for item in getattr(error, "error_list", []):
            if item.params and "value" in item.params:
                item.params = {**item.params, "value": printable(item.params["value"])}
        super().add_error(field, error)


class HandoverProviderFilter(admin.SimpleListFilter):
    title = _("Handover Provider")
    parameter_name = "handover_provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return provider_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(handover_provider=self.value())
        return queryset


@admin.register(Endpoint)
class EndpointAdmin(SecretsAdminMixin, TestConnectionMixin, admin.ModelAdmin):
    form = EndpointAdminForm
    actions = ["test_connection"]
    list_display = ["name", "channel_type", "provider_label", "public_id", "updated_at"]
    list_filter = ["channel_type", HandoverProviderFilter]
    search_fields = ["name"]
    search_help_text = _("Search by name, or by public ID (the whole UUID).")
    readonly_fields = ["public_id", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "channel_type",
                    "callback_url",
                    "callback_signing_secret",
                    "public_id",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        (
            _("Handover Settings"),
            {
                "fields": ["handover_provider", "queue_update_seconds"],
                "description": _(
                    "The provider's settings below are used only while it is selected; "
                    "switching to another provider keeps them, inactive."
                ),
            },
        ),
    ]

    class Media:
        js = ["handover/provider-settings.js"]

    def _sensitive(self, view: Any) -> Any:
        # Every POST parameter: the providers' inlines carry secrets too (a webhook secret).
        return sensitive_post_parameters()(view)

    def get_fieldsets(self, request: HttpRequest, obj: Endpoint | None = None) -> Any:
        if obj is None:
            # Nothing to show yet of what the database sets.
            general, settings = self.fieldsets
            fields = [field for field in general[1]["fields"] if field not in self.readonly_fields]
            return [(None, {"fields": fields}), settings]
        return super().get_fieldsets(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Endpoint | None) -> list[Any]:
        return [
            inline
            for provider in get_providers().values()
            if (inline := provider.get_admin_inline()) is not None
        ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            public_id = uuid.UUID(search_term.strip())
        except ValueError:
            return results, may_have_duplicates
        return results | queryset.filter(public_id=public_id), may_have_duplicates

    def connection_findings(self, obj: Endpoint) -> list[Finding]:
        return obj.get_provider().test_connection(obj)

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change or "handover_provider" not in form.changed_data:
            return
        still_open = obj.handovers.filter(status__in=OPEN_STATUSES).values("provider")
        counts = Counter(row["provider"] for row in still_open)
        labels = dict(provider_choices())
        for provider_id, count in counts.items():
            text = ngettext(
                "%(count)d handover is still open on %(old)s: it finishes there. New handovers "
                "use %(new)s.",
                "%(count)d handovers are still open on %(old)s: they finish there. New "
                "handovers use %(new)s.",
                count,
            ) % {
                "count": count,
                "old": labels.get(provider_id, provider_id),
                "new": labels.get(obj.handover_provider, obj.handover_provider),
            }
            self.message_user(request, text, messages.WARNING)

    @admin.display(description=_("Handover Provider"), ordering="handover_provider")
    def provider_label(self, obj: Endpoint) -> str:
        return dict(provider_choices()).get(obj.handover_provider, obj.handover_provider)


# The handover sessions, relay replicas, channels and staff tokens admins live in their
# own modules; importing them registers them.
from endpoints import admin_channels, admin_tokens  # noqa: E402, F401
from endpoints.handovers import admin as handovers_admin  # noqa: E402, F401
from endpoints.handovers import admin_relay  # noqa: E402, F401
