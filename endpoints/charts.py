"""Stacked bar charts as server-side SVG: no JavaScript, no CDN.

Colours are the admin's CSS variables (``static/handover/overview.css``), text is
``currentColor``: the chart follows the admin's light and dark themes. Each bar group is a
``<g class="chart-bar">`` with ``data-start`` and ``data-total``; each segment a ``<rect>``
with ``data-reason`` and ``data-count``. The figures are also in a table beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from endpoints.overview import STACK, Bucket

WIDTH = 720
HEIGHT = 200
TOP = 10
BOTTOM = 22  # room for the axis labels
LEFT = 32


def stacked_bars(
    buckets: list[Bucket],
    *,
    title: str,
    description: str,
    label: Callable[[datetime], str],
    label_every: int = 1,
) -> SafeString:
    """An SVG of one bar group per bucket, segments stacked in ``STACK`` order."""
    tallest = max((bucket.total for bucket in buckets), default=0)
    plot_height = HEIGHT - TOP - BOTTOM
    scale = plot_height / tallest if tallest else 0.0
    slot = (WIDTH - LEFT) / max(len(buckets), 1)
    bar_width = max(slot * 0.7, 1.0)
    groups = []
    for index, bucket in enumerate(buckets):
        x = LEFT + index * slot + (slot - bar_width) / 2
        y = TOP + plot_height
        rects = []
        for reason in STACK:
            count = bucket.counts.get(reason, 0)
            if not count:
                continue
            height = count * scale
            y -= height
            rects.append(
                (reason, count, f"{x:.2f}", f"{y:.2f}", f"{bar_width:.2f}", f"{height:.2f}")
            )
        segments = format_html_join(
            "",
            '<rect class="chart-{}" data-reason="{}" data-count="{}" x="{}" y="{}" '
            'width="{}" height="{}"></rect>',
            ((reason, reason, *rest) for reason, *rest in rects),
        )
        caption = (
            format_html(
                '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                f"{x + bar_width / 2:.2f}",
                HEIGHT - 6,
                label(bucket.start),
            )
            if index % label_every == 0
            else ""
        )
        groups.append(
            format_html(
                '<g class="chart-bar" data-start="{}" data-total="{}"><title>{}: {}</title>'
                "{}{}</g>",
                bucket.start.isoformat(),
                bucket.total,
                label(bucket.start),
                bucket.total,
                segments,
                caption,
            )
        )
    axis = format_html(
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">0</text>'
        '<line class="chart-baseline" x1="{}" x2="{}" y1="{}" y2="{}"></line>',
        LEFT - 4,
        TOP + 8,
        tallest,
        LEFT - 4,
        TOP + plot_height,
        LEFT,
        WIDTH,
        TOP + plot_height,
        TOP + plot_height,
    )
    return format_html(
        '<svg class="handover-chart" role="img" viewBox="0 0 {} {}" width="100%" '
        'aria-labelledby="{}-title {}-desc" data-max="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}</svg>',
        WIDTH,
        HEIGHT,
        _slug(title),
        _slug(title),
        tallest,
        _slug(title),
        title,
        _slug(title),
        description,
        axis,
        SafeString("".join(groups)),
    )


def _slug(text: str) -> str:
    return "chart-" + "".join(char if char.isalnum() else "-" for char in text.lower())
