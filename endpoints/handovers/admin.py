"""The handover sessions admin: a read-only list and transcript, and "End session".

Staff read a handover whole (both directions, in time order, failures first); ending one
needs the ``change`` permission and goes through ``handover_end`` like every other end,
so the channel hears ``ended`` and the agent is disconnected. Reviewers (the "Handover
reviewers" group) have ``view`` only: the list and the transcript, no End session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from endpoints.admin_mixins import ReadOnlyAdminMixin
from endpoints.handovers.retention import retention_policy
from endpoints.handovers.services import handover_end
from endpoints.handovers.transcript_export import as_text, document, json_response, text_response
from endpoints.models import (
    EndReason,
    EventKind,
    Handover,
    HandoverEvent,
    HandoverStatus,
    OutboundMessage,
    OutboxStatus,
)
from endpoints.models.handover import DeliveryStatus
from endpoints.providers import provider_choices

#: Events shown in the transcript (typing indicators would drown it).
TRANSCRIPT_EVENTS = {
    EventKind.AGENT_JOINED,
    EventKind.AGENT_MESSAGE,
    EventKind.SYSTEM_MESSAGE,
    EventKind.AGENT_LEFT,
    EventKind.EXPIRY_WARNING,
    EventKind.MESSAGE_FAILED,
    EventKind.ENDED,
}


#: Who an outbox row speaks for in the transcript (the start and the disconnect are ours).
ROW_AUTHORS = {
    OutboundMessage.Kind.TRANSCRIPT: _("Bot transcript"),
    OutboundMessage.Kind.START: _("Relay"),
    OutboundMessage.Kind.DISCONNECT: _("Relay"),
}


@dataclass(frozen=True)
class TranscriptLine:
    at: datetime
    who: str
    text: str
    state: str = ""
    failed: bool = False


def transcript_lines(handover: Handover) -> list[TranscriptLine]:
    """Both directions of a handover, in time order: the outbox and the channel's events."""
    lines = []
    for message in handover.outbox.order_by("pk"):
        state = message.get_status_display()
        if message.attempts:
            state += " · " + ngettext("%d attempt", "%d attempts", message.attempts) % (
                message.attempts
            )
        if message.last_error:
            state += f" · {message.last_error}"
        who = ROW_AUTHORS.get(message.kind, _("User"))
        lines.append(
            TranscriptLine(
                message.created_at,
                str(who),
                with_content(message.text, message.data),
                state,
                message.status == OutboxStatus.FAILED,
            )
        )
    for event in handover.events.filter(kind__in=TRANSCRIPT_EVENTS).order_by("seq"):
        who, text = _event_text(event.kind, event.data)
        failed = event.delivery == DeliveryStatus.FAILED
        lines.append(TranscriptLine(event.created_at, who, text, _callback_state(event), failed))
    return sorted(lines, key=lambda line: line.at)


def _callback_state(event: HandoverEvent) -> str:
    """How the event's delivery to the channel's callback URL went (blank: no callback)."""
    if event.delivery == DeliveryStatus.NONE:
        return ""
    state = str(_("callback %(status)s") % {"status": event.get_delivery_display()})
    if event.delivery_attempts:
        state += " · " + ngettext("%d attempt", "%d attempts", event.delivery_attempts) % (
            event.delivery_attempts
        )
    if event.delivery_error and event.delivery != DeliveryStatus.DELIVERED:
        state += f" · {event.delivery_error}"
    return state


class NeedsAttentionFilter(admin.SimpleListFilter):
    """Sessions with a message that never reached the agent or an event the channel never
    got (its callback was given up)."""

    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("failed_messages", _("failed messages")),
            ("failed_callbacks", _("failed callbacks")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "failed_messages":
            return queryset.filter(
                Exists(OutboundMessage.objects.filter(handover=OuterRef("pk"), status="failed"))
            )
        if self.value() == "failed_callbacks":
            return queryset.filter(
                Exists(
                    HandoverEvent.objects.filter(
                        handover=OuterRef("pk"), delivery=DeliveryStatus.FAILED
                    )
                )
            )
        return queryset


def with_content(text: str, data: dict[str, Any]) -> str:
    """A message's text followed by what else it carries (attachments, quick replies,
    cards), one line each, as text: the transcript shows links, never embeds them."""
    lines = [text] if text else []
    for attachment in data.get("attachments") or []:
        name = attachment.get("filename") or attachment.get("mime") or ""
        lines.append(
            str(_("Attachment: %(name)s %(url)s"))
            % {"name": name, "url": attachment.get("url", "")}
        )
    replies = [reply.get("text", "") for reply in data.get("quick_replies") or []]
    if replies:
        lines.append(str(_("Quick replies: %(replies)s")) % {"replies": " | ".join(replies)})
    answer = data.get("quick_reply")
    if isinstance(answer, dict):  # the user's answer: its text is the option's, said here
        lines = [str(_("Quick reply answer: %(text)s (payload %(payload)s)")) % {
            "text": answer.get("text", ""), "payload": answer.get("payload", "")
        }]  # fmt: skip
    for card in data.get("cards") or []:
        links = [action.get("url") for action in card.get("actions") or [] if action.get("url")]
        parts = [card.get("title"), card.get("description"), card.get("url"), *links]
        lines.append(str(_("Card: %(card)s")) % {"card": " · ".join(p for p in parts if p)})
    return "\n".join(lines)


def _event_text(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    agent = _("Agent")
    if kind == EventKind.AGENT_MESSAGE:
        return str(agent), with_content(str(data.get("text", "")), data)
    if kind == EventKind.SYSTEM_MESSAGE:
        return str(_("Provider bot")), with_content(str(data.get("text", "")), data)
    if kind == EventKind.AGENT_JOINED:
        return str(agent), str(_("%(name)s joined.") % {"name": data.get("agent_name") or agent})
    if kind == EventKind.AGENT_LEFT:
        return str(agent), str(_("The agent left."))
    if kind == EventKind.EXPIRY_WARNING:
        return str(_("System")), str(_("Expiry warning: the session is about to expire."))
    if kind == EventKind.MESSAGE_FAILED:
        return str(_("System")), str(_("A message could not be delivered: %(detail)s") % {
            "detail": data.get("reason", "")
        })  # fmt: skip
    reason = dict(EndReason.choices).get(data.get("reason", ""), data.get("reason", ""))
    return str(_("System")), str(_("Session ended (%(reason)s).") % {"reason": reason})


class HandoverProviderFilter(admin.SimpleListFilter):
    title = _("provider")
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return provider_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(provider=self.value())
        return queryset


@admin.register(Handover)
class HandoverAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/endpoints/handover/change_form.html"
    change_list_template = "admin/endpoints/handover/change_list.html"
    actions = ["end_sessions", "export_json", "export_text"]
    list_display = [
        "endpoint",
        "user_id",
        "session_id",
        "status",
        "agent_name",
        "started_at",
        "last_activity_at",
        "idle",
    ]
    list_filter = ["endpoint", "status", HandoverProviderFilter, NeedsAttentionFilter]
    list_select_related = ["endpoint"]
    search_fields = ["user_id", "session_id"]
    search_help_text = _("Search by user ID or session ID.")
    date_hierarchy = "started_at"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "public_id",
                    "endpoint",
                    "provider",
                    "user_id",
                    "session_id",
                ]
            },
        ),
        (
            _("Times"),
            {"fields": ["started_at", "last_activity_at", "idle", "expires_at", "ended_at"]},
        ),
        (_("End"), {"fields": ["end_reason", "end_detail", "ended_by"]}),
        (_("Profile"), {"fields": ["profile", "custom_fields"], "classes": ["collapse"]}),
        # Status, agent and transcript: the live part, polled while the handover is open.
        (_("Session"), {"fields": ["transcript"]}),
    ]
    readonly_fields = [
        "public_id",
        "endpoint",
        "provider",
        "status",
        "user_id",
        "session_id",
        "agent_name",
        "started_at",
        "last_activity_at",
        "idle",
        "expires_at",
        "ended_at",
        "end_reason",
        "end_detail",
        "ended_by",
        "profile",
        "custom_fields",
        "transcript",
    ]

    class Media:
        css = {"all": ["handover/admin.css"]}
        js = ["handover/htmx.min.js"]

    # Nobody adds, edits or deletes a handover here: the channel starts it, the relay
    # records it. Ending it is the one change staff make ("end" permission below).
    def has_end_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Ending a session takes the model's ``change`` permission (reviewers have none)."""
        return self.has_model_change_permission(request)

    def get_urls(self) -> list[Any]:
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path(
                "<path:object_id>/end/",
                self.admin_site.admin_view(self.end_view),
                name=f"{name}_end",
            ),
            # Not admin_view: a poll whose admin session ended stops (286), not redirected.
            path("<path:object_id>/live/", never_cache(self.live_view), name=f"{name}_live"),
            path(
                "<path:object_id>/transcript.<str:fmt>",
                self.admin_site.admin_view(self.export_view),
                name=f"{name}_export",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "retention_policy": retention_policy()}
        return super().changelist_view(request, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "can_end": obj is not None and obj.is_open and self.has_end_permission(request, obj),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _viewable(self, request: HttpRequest, object_id: str) -> Handover:
        handover = self.get_object(request, unquote(object_id))
        if handover is None:
            raise Http404
        if not self.has_view_permission(request, handover):
            raise PermissionDenied
        return handover

    def live_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The live part of the page (status, agent, transcript), for htmx to swap in."""
        if not self.admin_site.has_permission(request):
            if request.htmx:  # 286: htmx swaps this in and stops polling
                return HttpResponse(
                    render_to_string("admin/endpoints/handover/live_logged_out.html"), status=286
                )
            return redirect_to_login(
                request.get_full_path(), reverse("admin:login", current_app=self.admin_site.name)
            )
        return HttpResponse(self.live_panel(self._viewable(request, object_id)))

    def export_view(self, request: HttpRequest, object_id: str, fmt: str) -> HttpResponse:
        if fmt not in ("json", "txt"):
            raise Http404
        handover = self._viewable(request, object_id)
        filename = f"handover-{handover.public_id}"
        lines = transcript_lines(handover)
        if fmt == "json":
            return json_response([document(handover, lines)], filename)
        return text_response([as_text(handover, lines)], filename)

    @admin.action(description=_("Export transcripts (JSON)"), permissions=["view"])
    def export_json(self, request: HttpRequest, queryset: QuerySet[Handover]) -> HttpResponse:
        handovers = queryset.select_related("endpoint").order_by("started_at")
        return json_response(
            (document(handover, transcript_lines(handover)) for handover in handovers),
            "handover-transcripts",
        )

    @admin.action(description=_("Export transcripts (plain text)"), permissions=["view"])
    def export_text(self, request: HttpRequest, queryset: QuerySet[Handover]) -> HttpResponse:
        handovers = queryset.select_related("endpoint").order_by("started_at")
        return text_response(
            (as_text(handover, transcript_lines(handover)) for handover in handovers),
            "handover-transcripts",
        )

    def end_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_end_permission(request):
            raise PermissionDenied
        handover = self.get_object(request, unquote(object_id))
        if handover is None:
            raise Http404
        if self.end_session(request, handover):
            self.message_user(request, _("The session has ended."), messages.SUCCESS)
        else:
            self.message_user(request, _("The session had already ended."), messages.WARNING)
        opts = self.model._meta
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", handover.pk)

    def end_session(self, request: HttpRequest, handover: Handover) -> bool:
        """End it as this staff user: the admin log records who and when."""
        ended = handover_end(
            handover_id=handover.pk, reason=EndReason.STAFF_ENDED, ended_by=request.user
        )
        if ended:
            self.log_change(request, handover, str(_("Ended the session (staff ended).")))
        return ended

    @admin.action(description=_("End session"), permissions=["end"])
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[Handover]) -> None:
        open_handovers = queryset.exclude(status=HandoverStatus.ENDED)
        ended = sum(self.end_session(request, handover) for handover in open_handovers)
        self.message_user(
            request,
            ngettext("%d session ended.", "%d sessions ended.", ended) % ended,
            messages.SUCCESS,
        )

    @admin.display(description=_("idle (minutes)"))
    def idle(self, handover: Handover) -> int | str:
        if not handover.is_open:
            return "—"
        return handover.idle_minutes(timezone.now())

    def _url(self, handover: Handover, view: str, **kwargs: str) -> str:
        opts = self.model._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_{view}",
            kwargs={"object_id": str(handover.pk), **kwargs},
            current_app=self.admin_site.name,
        )

    def live_panel(self, handover: Handover) -> SafeString:
        return render_to_string(
            "admin/endpoints/handover/live.html",
            {
                "handover": handover,
                "transcript": self.transcript_table(handover),
                "live_url": self._url(handover, "live"),
                "export_json_url": self._url(handover, "export", fmt="json"),
                "export_text_url": self._url(handover, "export", fmt="txt"),
            },
        )

    @admin.display(description=_("status, agent and transcript"))
    def transcript(self, handover: Handover) -> SafeString:
        return self.live_panel(handover)

    def transcript_table(self, handover: Handover) -> SafeString:
        lines = transcript_lines(handover)
        if not lines:
            return format_html("<p>{}</p>", _("Nothing was said yet."))
        failed = sum(line.failed for line in lines)
        warning = (
            format_html(
                '<p class="handover-failed-summary">{}</p>',
                ngettext(
                    "%d message or event failed to reach the agent or the channel.",
                    "%d messages or events failed to reach the agent or the channel.",
                    failed,
                )
                % failed,
            )
            if failed
            else ""
        )
        rows = format_html_join(
            "",
            '<tr class="{}"><td>{}</td><td>{}</td><td class="handover-text">{}</td>'
            "<td>{}</td></tr>",
            (
                (
                    "handover-failed" if line.failed else "",
                    timezone.localtime(line.at).strftime("%Y-%m-%d %H:%M:%S"),
                    line.who,
                    line.text,
                    line.state,
                )
                for line in lines
            ),
        )
        return format_html(
            '{}<table class="handover-transcript"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            warning,
            _("at"),
            _("from"),
            _("text"),
            _("delivery"),
            rows,
        )
