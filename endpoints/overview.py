"""Operations at a glance: the figures of the handover overview page and the metrics API.

Everything is aggregated in the database, in a constant number of queries whatever the
number of handovers: one for "now", one for every window together, one per chart series.
Percentiles are PostgreSQL's ``percentile_cont``; on SQLite (the benchmarks, a dev
checkout) they are computed in Python from at most ``SQLITE_SAMPLE`` recent durations,
one more query per percentile pair.

Definitions: a window's *started*, *reached an agent* (an ``agent_joined`` event exists)
and the times to an agent and to the first agent reply count the handovers **started** in
it; *ended by reason* and *expired* count those that **ended** in it. Chart buckets count
handovers by when they started, stacked by how they ended (``open``: not yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from endpoints.models import (
    EndReason,
    Handover,
    HandoverEvent,
    HandoverStatus,
    OutboundMessage,
    OutboxStatus,
)
from endpoints.models.handover import DeliveryStatus

Interval = Literal["hour", "day"]
#: The stack of a chart bar: every end reason, then the handovers still open.
OPEN = "open"
STACK = [*EndReason.values, OPEN]
#: How many recent durations SQLite computes a percentile from.
SQLITE_SAMPLE = 10_000


class Percentile(Aggregate):
    """``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`` (PostgreSQL)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class Quantiles:
    median: timedelta | None = None
    p90: timedelta | None = None


@dataclass(frozen=True)
class Now:
    """Open handovers by status, how long the queued ones wait, what needs attention."""

    starting: int
    queued: int
    active: int
    longest_wait: timedelta | None
    median_wait: timedelta | None
    failed_messages: int
    failed_callbacks: int

    @property
    def open(self) -> int:
        return self.starting + self.queued + self.active


@dataclass(frozen=True)
class Window:
    label: str
    since: datetime
    until: datetime
    started: int
    reached_agent: int
    ended: dict[str, int]
    time_to_agent: Quantiles
    time_to_reply: Quantiles

    @property
    def expired(self) -> int:
        return self.ended[EndReason.EXPIRED]


@dataclass(frozen=True)
class Bucket:
    start: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def handovers(endpoint_id: int | None = None) -> QuerySet[Handover]:
    """The scope of the figures: one endpoint's handovers, or all."""
    queryset = Handover.objects.order_by()
    return queryset if endpoint_id is None else queryset.filter(endpoint_id=endpoint_id)


def local_midnight(moment: datetime) -> datetime:
    """The start of ``moment``'s day in the current time zone."""
    day = timezone.localtime(moment).date()
    return timezone.make_aware(datetime.combine(day, time.min))


def _since_start(moment: Any) -> ExpressionWrapper:
    return ExpressionWrapper(moment - F("started_at"), output_field=DurationField())


def _time_to_agent() -> ExpressionWrapper:
    return _since_start(F("first_agent_at"))


def _time_to_reply() -> ExpressionWrapper:
    return _since_start(F("first_reply_at"))


def _percentiles_in_sql() -> bool:
    return connection.vendor == "postgresql"


def now_figures(scope: QuerySet[Handover], now: datetime | None = None) -> Now:
    """One query."""
    now = now or timezone.now()
    queued = Q(status=HandoverStatus.QUEUED)
    failed_messages = OutboundMessage.objects.filter(status=OutboxStatus.FAILED)
    failed_callbacks = HandoverEvent.objects.filter(delivery=DeliveryStatus.FAILED)
    aggregates: dict[str, Any] = {
        status: Count("pk", filter=Q(status=status))
        for status in (HandoverStatus.STARTING, HandoverStatus.QUEUED, HandoverStatus.ACTIVE)
    }
    aggregates["oldest_queued"] = Min("started_at", filter=queued)
    # Non-correlated IN: PostgreSQL hashes the failed rows once.
    aggregates["failed_messages"] = Count(
        "pk", filter=Q(pk__in=failed_messages.values("handover_id"))
    )
    aggregates["failed_callbacks"] = Count(
        "pk", filter=Q(pk__in=failed_callbacks.values("handover_id"))
    )
    waited = ExpressionWrapper(
        Value(now, output_field=DateTimeField()) - F("started_at"), output_field=DurationField()
    )
    if _percentiles_in_sql():
        aggregates["median_wait"] = Percentile(waited, 0.5, filter=queued)
    row = scope.aggregate(**aggregates)
    if not _percentiles_in_sql():
        row["median_wait"] = _python_quantiles(scope.filter(queued).annotate(d=waited)).median
    oldest = row["oldest_queued"]
    return Now(
        starting=row[HandoverStatus.STARTING],
        queued=row[HandoverStatus.QUEUED],
        active=row[HandoverStatus.ACTIVE],
        longest_wait=None if oldest is None else max(now - oldest, timedelta(0)),
        median_wait=row["median_wait"],
        failed_messages=row["failed_messages"],
        failed_callbacks=row["failed_callbacks"],
    )


def window_figures(
    scope: QuerySet[Handover], windows: list[tuple[str, datetime, datetime]]
) -> list[Window]:
    """The figures of each ``(label, since, until)`` window, all in one query."""
    if not windows:
        return []
    earliest = min(since for _label, since, _until in windows)
    latest = max(until for _label, _since, until in windows)
    rows = scope.filter(
        Q(started_at__gte=earliest, started_at__lt=latest)
        | Q(ended_at__gte=earliest, ended_at__lt=latest)
    )
    aggregates: dict[str, Any] = {}
    for index, (_label, since, until) in enumerate(windows):
        started = Q(started_at__gte=since, started_at__lt=until)
        ended = Q(ended_at__gte=since, ended_at__lt=until)
        joined = Q(first_agent_at__isnull=False)
        aggregates[f"{index}_started"] = Count("pk", filter=started)
        aggregates[f"{index}_reached"] = Count("pk", filter=started & joined)
        for reason in EndReason.values:
            aggregates[f"{index}_{reason}"] = Count("pk", filter=ended & Q(end_reason=reason))
        if _percentiles_in_sql():
            for name, duration in (("agent", _time_to_agent()), ("reply", _time_to_reply())):
                for fraction, suffix in ((0.5, "median"), (0.9, "p90")):
                    aggregates[f"{index}_{name}_{suffix}"] = Percentile(
                        duration, fraction, filter=started
                    )
    row = rows.aggregate(**aggregates)
    result = []
    for index, (label, since, until) in enumerate(windows):
        if _percentiles_in_sql():
            to_agent = Quantiles(row[f"{index}_agent_median"], row[f"{index}_agent_p90"])
            to_reply = Quantiles(row[f"{index}_reply_median"], row[f"{index}_reply_p90"])
        else:
            started_rows = scope.filter(started_at__gte=since, started_at__lt=until)
            to_agent = _python_quantiles(started_rows.annotate(d=_time_to_agent()))
            to_reply = _python_quantiles(started_rows.annotate(d=_time_to_reply()))
        result.append(
            Window(
                label=label,
                since=since,
                until=until,
                started=row[f"{index}_started"],
                reached_agent=row[f"{index}_reached"],
                ended={reason: row[f"{index}_{reason}"] for reason in EndReason.values},
                time_to_agent=to_agent,
                time_to_reply=to_reply,
            )
        )
    return result


def _python_quantiles(annotated: QuerySet[Handover]) -> Quantiles:
    """The median and p90 of ``d`` over the most recent ``SQLITE_SAMPLE`` rows (SQLite)."""
    recent = annotated.exclude(d=None).order_by("-started_at").values_list("d", flat=True)
    durations = sorted(recent[:SQLITE_SAMPLE])
    if not durations:
        return Quantiles()
    return Quantiles(_quantile(durations, 0.5), _quantile(durations, 0.9))


def _quantile(durations: list[timedelta], fraction: float) -> timedelta:
    """Linear interpolation between the closest ranks, as ``percentile_cont``."""
    if len(durations) == 1:
        return durations[0]
    position = fraction * (len(durations) - 1)
    lower = int(position)
    upper = min(lower + 1, len(durations) - 1)
    return durations[lower] + (durations[upper] - durations[lower]) * (position - lower)


def bucket_starts(since: datetime, until: datetime, interval: Interval) -> list[datetime]:
    """Every bucket from the one holding ``since`` to the one holding ``until`` (exclusive
    end), in the current time zone as ``TruncHour`` and ``TruncDay`` cut them."""
    zone = timezone.get_current_timezone()
    if interval == "hour":
        start = since.replace(minute=0, second=0, microsecond=0)
        # Hours are cut in UTC offsets of whole hours; stepping in UTC avoids DST gaps.
        starts = []
        while start < until:
            starts.append(timezone.localtime(start, zone))
            start += timedelta(hours=1)
        return starts
    day = timezone.localtime(since, zone).date()
    starts = []
    while True:
        start = timezone.make_aware(datetime.combine(day, time.min), zone)
        if start >= until:
            return starts
        starts.append(start)
        day += timedelta(days=1)


def series(
    scope: QuerySet[Handover], since: datetime, until: datetime, interval: Interval
) -> list[Bucket]:
    """Handovers started per hour or day in ``[since, until)``, stacked by end reason; every
    bucket present, empty ones too. One query."""
    trunc = TruncHour if interval == "hour" else TruncDay
    rows = (
        scope.filter(started_at__gte=since, started_at__lt=until)
        .annotate(bucket=trunc("started_at"))
        .values("bucket", "end_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    buckets = {start: Bucket(start, dict.fromkeys(STACK, 0)) for start in bucket_starts(
        since, until, interval
    )}  # fmt: skip
    for row in rows:
        bucket = buckets.get(row["bucket"])
        if bucket is not None:
            bucket.counts[row["end_reason"] or OPEN] += row["n"]
    return list(buckets.values())


@dataclass(frozen=True)
class Overview:
    now: Now
    windows: list[Window]
    hours: list[Bucket]
    days: list[Bucket]


def overview(endpoint_id: int | None = None, now: datetime | None = None) -> Overview:
    """The dashboard: now, today and the last 7 days, 24 hours by hour, 30 days by day."""
    now = now or timezone.now()
    scope = handovers(endpoint_id)
    midnight = local_midnight(now)
    until = now + timedelta(microseconds=1)
    windows = [("today", midnight, until), ("last 7 days", now - timedelta(days=7), until)]
    hour_start = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    day_start = local_midnight(now - timedelta(days=29))
    return Overview(
        now=now_figures(scope, now),
        windows=window_figures(scope, windows),
        hours=series(scope, hour_start, until, "hour"),
        days=series(scope, day_start, until, "day"),
    )
