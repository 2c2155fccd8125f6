"""An open handover's admin page in a real browser: an agent's message appears, no reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from endpoints.handovers.services import handover_end, handover_event_record
from endpoints.models import EndReason, EventKind, HandoverStatus
from tests.factories import HandoverFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_page_receives_an_agent_message_without_a_reload(admin_page: Page, live_server):
    handover = HandoverFactory(status=HandoverStatus.QUEUED)
    page = admin_page
    page.goto(f"{live_server.url}/admin/endpoints/handover/{handover.pk}/change/")
    live = page.locator("#handover-live")
    expect(live.locator(".handover-live-badge")).to_have_text("live")
    expect(live.locator(".handover-status")).to_have_text("queued")
    page.evaluate("window.__notReloaded = true")

    handover_event_record(
        handover_id=handover.pk, kind=EventKind.AGENT_JOINED, data={"agent_name": "Robin"}
    )
    handover_event_record(
        handover_id=handover.pk,
        kind=EventKind.AGENT_MESSAGE,
        data={"text": "Hello from Robin"},
        activity=True,
    )

    expect(page.locator("#handover-live")).to_contain_text("Hello from Robin", timeout=8000)
    expect(page.locator("#handover-live .handover-agent")).to_have_text("Robin")
    expect(page.locator("#handover-live .handover-status")).to_have_text("active")
    assert page.evaluate("window.__notReloaded") is True
    navigations = page.evaluate("performance.getEntriesByType('navigation').length")
    assert navigations == 1
    assert page.evaluate("performance.navigation.type") == 0  # navigated, never reloaded


def test_polling_stops_when_the_handover_ends(admin_page: Page, live_server):
    handover = HandoverFactory(status=HandoverStatus.ACTIVE, agent_name="Robin")
    page = admin_page
    page.goto(f"{live_server.url}/admin/endpoints/handover/{handover.pk}/change/")
    expect(page.locator("#handover-live .handover-live-badge")).to_have_text("live")

    handover_end(handover_id=handover.pk, reason=EndReason.USER_ENDED, disconnect=False)

    expect(page.locator("#handover-live .handover-live-badge")).to_have_text("ended", timeout=8000)
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url))
    page.wait_for_timeout(4500)
    assert not [url for url in polls if url.endswith("/live/")]
