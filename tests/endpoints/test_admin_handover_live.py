"""The live part of a handover's admin page, and the transcript exports."""

from __future__ import annotations

import json
import time

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from endpoints.handovers.services import handover_event_record
from endpoints.models import EventKind, Handover, HandoverStatus
from security.sessions import LAST_SEEN_KEY
from tests.factories import HandoverEventFactory, HandoverFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def live_url(handover: Handover) -> str:
    return reverse("admin:endpoints_handover_live", args=[handover.pk])


def export_url(handover: Handover, fmt: str) -> str:
    return reverse("admin:endpoints_handover_export", args=[handover.pk, fmt])


@pytest.fixture
def handover() -> Handover:
    handover = HandoverFactory(status=HandoverStatus.QUEUED, session_id="sess-live")
    HandoverEventFactory(handover=handover, data={"text": "First line <b>bold</b>"})
    return handover


@pytest.fixture
def reviewer() -> Client:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Handover reviewers"))
    client = Client()
    client.force_login(user)
    return client


def test_the_fragment_is_the_current_transcript_status_and_agent(admin_client, handover):
    before = admin_client.get(live_url(handover), **HTMX).content.decode()
    assert "First line &lt;b&gt;bold&lt;/b&gt;" in before
    assert 'hx-trigger="every 2s"' in before
    assert "Queued" in before or "queued" in before

    handover_event_record(
        handover_id=handover.pk, kind=EventKind.AGENT_JOINED, data={"agent_name": "Robin"}
    )
    handover_event_record(
        handover_id=handover.pk,
        kind=EventKind.AGENT_MESSAGE,
        data={"text": "Hi, Robin here."},
        activity=True,
    )
    after = admin_client.get(live_url(handover), **HTMX).content.decode()

    assert "Hi, Robin here." in after
    assert '<strong class="handover-agent">Robin</strong>' in after
    assert '<strong class="handover-status">active</strong>' in after
    assert "<html" not in after  # a fragment, not a page


def test_an_ended_handover_stops_the_polling(admin_client, handover):
    handover.status = HandoverStatus.ENDED
    handover.save()

    html = admin_client.get(live_url(handover), **HTMX).content.decode()

    assert "hx-trigger" not in html
    assert "is-ended" in html


def test_the_change_page_holds_the_live_part_and_htmx_from_our_static_files(admin_client, handover):
    html = admin_client.get(
        reverse("admin:endpoints_handover_change", args=[handover.pk])
    ).content.decode()

    assert 'id="handover-live"' in html
    assert f'hx-get="{live_url(handover)}"' in html
    assert "/static/handover/htmx.min.js" in html
    assert "unpkg" not in html
    assert "cdn" not in html.lower()
    assert export_url(handover, "json") in html
    assert export_url(handover, "txt") in html


def test_the_fragment_needs_the_view_permission(handover):
    client = Client()
    client.force_login(UserFactory(is_staff=True))  # staff, no permission

    assert client.get(live_url(handover), **HTMX).status_code == 403
    assert client.get(export_url(handover, "json")).status_code == 403


def test_reviewers_watch_and_export(reviewer, handover):
    assert reviewer.get(live_url(handover), **HTMX).status_code == 200
    assert reviewer.get(export_url(handover, "txt")).status_code == 200


def test_a_poll_after_the_session_ended_stops_with_286(handover):
    anonymous = Client()

    response = anonymous.get(live_url(handover), **HTMX)

    assert response.status_code == 286
    assert "hx-trigger" not in response.content.decode()
    assert "First line" not in response.content.decode()
    assert anonymous.get(live_url(handover)).status_code == 302  # a browser: the login


def test_polling_does_not_keep_the_admin_session_alive(admin_client, handover):
    session = admin_client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 120
    session.save()

    admin_client.get(live_url(handover), HTTP_X_BACKGROUND_POLL="1", **HTMX)

    assert admin_client.session[LAST_SEEN_KEY] < int(time.time()) - 100


def test_export_json(admin_client, handover):
    response = admin_client.get(export_url(handover, "json"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert f'filename="handover-{handover.public_id}.json"' in response["Content-Disposition"]
    body = json.loads(response.content)
    assert body["id"] == str(handover.public_id)
    assert body["session_id"] == "sess-live"
    assert [line["text"] for line in body["transcript"]] == ["First line <b>bold</b>"]
    assert body["transcript"][0]["from"] == "Agent"


def test_export_text(admin_client, handover):
    response = admin_client.get(export_url(handover, "txt"))

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert f"Handover {handover.public_id}" in text
    assert "Agent: First line <b>bold</b>" in text


def test_an_unknown_export_format_is_404(admin_client, handover):
    assert admin_client.get(export_url(handover, "xml")).status_code == 404


@pytest.mark.parametrize(("action", "kind"), [("export_json", "json"), ("export_text", "txt")])
def test_the_export_actions_on_the_list(reviewer, handover, action, kind):
    other = HandoverFactory(session_id="sess-other")
    response = reviewer.post(
        reverse("admin:endpoints_handover_changelist"),
        {"action": action, "_selected_action": [handover.pk, other.pk]},
    )

    assert response.status_code == 200
    assert f'filename="handover-transcripts.{kind}"' in response["Content-Disposition"]
    content = response.content.decode()
    if kind == "json":
        assert {item["session_id"] for item in json.loads(content)} == {"sess-live", "sess-other"}
    else:
        assert "sess-live" in content
        assert "sess-other" in content


def test_the_export_actions_need_the_view_permission(handover):
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    response = client.post(
        reverse("admin:endpoints_handover_changelist"),
        {"action": "export_json", "_selected_action": [handover.pk]},
    )
    assert response.status_code == 403
