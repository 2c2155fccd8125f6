"""The handover overview in a real browser: the figures and the 24-hour chart's bars."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from endpoints.charts import BOTTOM, HEIGHT, TOP
from tests.factories import EndpointFactory
from tests.overview_seed import SEEDS, seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def hour_of(moment: datetime) -> str:
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0).isoformat()


def test_the_overview_shows_the_seeded_figures(admin_page: Page, live_server) -> None:
    endpoints = {"A": EndpointFactory(name="Endpoint A"), "B": EndpointFactory(name="Endpoint B")}
    now = timezone.now()
    seed(now, endpoints)
    admin_page.goto(f"{live_server.url}/admin/")
    admin_page.click("#handover-overview-link a")

    def figure(name: str):
        return admin_page.locator(f"#overview-now [data-figure={name}]")

    expect(figure("open")).to_have_text("4")
    expect(figure("queued")).to_have_text("2")
    expect(figure("failed_messages")).to_have_text("1")
    expect(admin_page.locator("[data-row=started] td").nth(1)).to_have_text("8")

    bars = admin_page.locator("#chart-hours g.chart-bar")
    expect(bars).to_have_count(24)
    first_hour = (now - timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    expected = Counter(hour_of(now - spec.ago) for spec in SEEDS if now - spec.ago >= first_hour)
    tallest = max(expected.values())
    plot = HEIGHT - TOP - BOTTOM
    shown = {}
    for index in range(24):
        bar = bars.nth(index)
        heights = [float(h) for h in bar.locator("rect").evaluate_all(
            "rects => rects.map(r => r.getAttribute('height'))"
        )]  # fmt: skip
        total = int(bar.get_attribute("data-total"))
        assert sum(heights) == pytest.approx(total / tallest * plot, abs=0.05)
        if total:
            shown[bar.get_attribute("data-start")] = total
    assert shown == dict(expected)

    # One endpoint, chosen in the select (a plain GET form: no JavaScript needed).
    admin_page.select_option("#overview-endpoint", label="Endpoint B")
    admin_page.click(".overview-scope input[type=submit]")
    expect(figure("open")).to_have_text("0")
    expect(admin_page.locator("[data-row=ended_staff_ended] td").nth(1)).to_have_text("1")
