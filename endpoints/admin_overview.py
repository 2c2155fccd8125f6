"""The "Handover overview" admin page: operations at a glance (``endpoints.overview``).

Staff with the ``view`` permission on handover sessions (the "Handover reviewers" group
has it) see it, for all endpoints or one; others get 403. Wrapped by ``admin_view``:
a login is needed, the answer is never cached.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from endpoints.charts import stacked_bars
from endpoints.models import Endpoint, EndReason
from endpoints.overview import OPEN, STACK, Bucket, Overview, Quantiles, Window, overview

PERMISSION = "endpoints.view_handover"


def duration(value: timedelta | None) -> str:
    """``2 h 05 min``, ``4 min 10 s``, ``12 s``; ``—`` without a value."""
    if value is None:
        return "—"
    seconds = max(int(value.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def stack_labels() -> dict[str, str]:
    return {**{value: str(label) for value, label in EndReason.choices}, OPEN: _("still open")}


def _window_rows(windows: list[Window]) -> list[tuple[str, str, list[Any]]]:
    """``(key, label, value per window)`` rows of the windows table."""
    labels = stack_labels()
    rows: list[tuple[str, str, list[Any]]] = [
        ("started", _("handovers started"), [w.started for w in windows]),
        ("reached_agent", _("reached an agent"), [w.reached_agent for w in windows]),
    ]
    for reason in EndReason.values:
        rows.append(
            (f"ended_{reason}", _("ended: %s") % labels[reason], [w.ended[reason] for w in windows])
        )
    rows.append(("expired", _("expired"), [w.expired for w in windows]))
    for key, label, pick in (
        ("time_to_agent", _("time to agent"), lambda w: w.time_to_agent),
        ("time_to_reply", _("time to first agent reply"), lambda w: w.time_to_reply),
    ):
        quantiles: list[Quantiles] = [pick(w) for w in windows]
        rows.append(
            (f"{key}_median", _("%s (median)") % label, [duration(q.median) for q in quantiles])
        )
        rows.append((f"{key}_p90", _("%s (p90)") % label, [duration(q.p90) for q in quantiles]))
    return rows


def _chart(buckets: list[Bucket], title: str, fmt: str, every: int) -> dict[str, Any]:
    labels = stack_labels()
    description = _(
        "Handovers started per bar, stacked by how they ended: %s. The same figures are in "
        "the table below."
    ) % ", ".join(labels[key] for key in STACK)

    def label(start: datetime) -> str:
        return timezone.localtime(start).strftime(fmt)

    return {
        "title": title,
        "svg": stacked_bars(
            buckets, title=title, description=description, label=label, label_every=every
        ),
        "stack": [(key, labels[key]) for key in STACK],
        "rows": [(label(b.start), [b.counts[key] for key in STACK], b.total) for b in buckets],
    }


def _attention_url(kind: str, endpoint_id: int | None) -> str:
    query = {"attention": kind}
    if endpoint_id is not None:
        query["endpoint__id__exact"] = str(endpoint_id)
    return f"{reverse('admin:endpoints_handover_changelist')}?{urlencode(query)}"


def handover_overview(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    endpoints = list(Endpoint.objects.order_by("name", "pk").values_list("pk", "name"))
    chosen = request.GET.get("endpoint", "")
    endpoint_id = next((pk for pk, _name in endpoints if str(pk) == chosen), None)
    figures: Overview = overview(endpoint_id)
    context = {
        **admin.site.each_context(request),
        "title": _("Handover overview"),
        "endpoints": endpoints,
        "endpoint_id": endpoint_id,
        "now": figures.now,
        "longest_wait": duration(figures.now.longest_wait),
        "median_wait": duration(figures.now.median_wait),
        "windows": figures.windows,
        "window_rows": _window_rows(figures.windows),
        "failed_messages_url": _attention_url("failed_messages", endpoint_id),
        "failed_callbacks_url": _attention_url("failed_callbacks", endpoint_id),
        "hours": _chart(figures.hours, _("Handovers per hour, last 24 hours"), "%H:00", 3),
        "days": _chart(figures.days, _("Handovers per day, last 30 days"), "%m-%d", 5),
    }
    return TemplateResponse(request, "admin/endpoints/handover/overview.html", context)
