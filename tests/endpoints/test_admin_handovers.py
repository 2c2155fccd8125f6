"""The handover sessions admin: list, transcript, End session, reviewers, query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from endpoints.models import EndReason, EventKind, Handover, HandoverStatus, OutboundMessage
from tests.factories import (
    CLIENT_SECRET,
    EndpointFactory,
    HandoverEventFactory,
    HandoverFactory,
    OutboundMessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:endpoints_handover_changelist")
SIGNING_SECRET = "planted-Signing-Secret-77d0"


def change_url(handover: Handover) -> str:
    return reverse("admin:endpoints_handover_change", args=[handover.pk])


def end_url(handover: Handover) -> str:
    return reverse("admin:endpoints_handover_end", args=[handover.pk])


@pytest.fixture
def handover() -> Handover:
    now = timezone.now()
    handover = HandoverFactory(
        endpoint__callback_signing_secret=SIGNING_SECRET,
        user_id="user-42",
        session_id="sess-42",
        agent_name="Alex Agent",
        status=HandoverStatus.ACTIVE,
        started_at=now - timedelta(minutes=30),
        last_activity_at=now - timedelta(minutes=7),
    )
    OutboundMessageFactory(
        handover=handover,
        kind=OutboundMessage.Kind.TRANSCRIPT,
        text="User (09:30): <script>alert(1)</script>",
        status="sent",
        attempts=1,
        created_at=now - timedelta(minutes=30),
    )
    HandoverEventFactory(
        handover=handover,
        kind=EventKind.AGENT_JOINED,
        data={"agent_name": "Alex Agent"},
        created_at=now - timedelta(minutes=20),
    )
    HandoverEventFactory(
        handover=handover,
        data={"text": "Hello, I am Alex."},
        created_at=now - timedelta(minutes=15),
    )
    HandoverEventFactory(handover=handover, kind=EventKind.AGENT_TYPING, data={})
    OutboundMessageFactory(
        handover=handover,
        text="It still does not work",
        status="failed",
        attempts=8,
        last_error="Genesys answered 503",
        created_at=now - timedelta(minutes=10),
    )
    return handover


def test_the_list_shows_the_sessions(admin_client: Client, handover: Handover) -> None:
    response = admin_client.get(LIST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    for text in [str(handover.endpoint), "user-42", "sess-42", "Alex Agent", "active"]:
        assert text in html
    assert '<td class="field-idle">7</td>' in html
    assert "Add handover session" not in html


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({"q": "user-42"}, True),
        ({"q": "sess-42"}, True),
        ({"q": "nobody"}, False),
        ({"status": "active"}, True),
        ({"status": "ended"}, False),
        ({"provider": "genesys"}, True),
        ({"provider": "none"}, False),
    ],
)
def test_search_and_filters(admin_client: Client, handover: Handover, query, found) -> None:
    html = admin_client.get(LIST_URL, query).content.decode()
    assert ("sess-42" in html) is found


def test_the_endpoint_filter(admin_client: Client, handover: Handover) -> None:
    other = HandoverFactory(session_id="other-session")
    html = admin_client.get(LIST_URL, {"endpoint__id__exact": other.endpoint.pk}).content.decode()
    assert "other-session" in html
    assert "sess-42" not in html


def test_the_list_costs_the_same_queries_for_1_or_30_sessions(admin_client: Client) -> None:
    endpoint = EndpointFactory(handover_provider="genesys")
    HandoverFactory(endpoint=endpoint)
    admin_client.get(LIST_URL)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as one:
        admin_client.get(LIST_URL)
    for _ in range(29):
        HandoverFactory(endpoint=EndpointFactory(handover_provider="genesys"))
    with CaptureQueriesContext(connection) as thirty:
        assert admin_client.get(LIST_URL).status_code == 200
    # Each new endpoint adds a choice to the endpoint filter, not a query.
    assert len(thirty) == len(one)


def test_the_detail_page_shows_the_whole_transcript_in_time_order(
    admin_client: Client, handover: Handover
) -> None:
    response = admin_client.get(change_url(handover))
    assert response.status_code == 200
    html = response.content.decode()
    order = [
        "User (09:30): &lt;script&gt;alert(1)&lt;/script&gt;",
        "Alex Agent joined.",
        "Hello, I am Alex.",
        "It still does not work",
    ]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)
    assert "<script>alert(1)</script>" not in html
    assert "1 message or event failed to reach the agent or the channel." in html
    assert "Genesys answered 503" in html
    assert "8 attempts" in html
    assert 'class="handover-failed"' in html
    # Read-only: no form fields to save, but End session.
    assert 'name="_save"' not in html
    assert "End session" in html


def test_end_session_ends_it_as_the_staff_user(
    admin_client: Client, admin_user, handover: Handover, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(end_url(handover), follow=True)

    assert response.status_code == 200
    assert "The session has ended." in response.content.decode()
    handover.refresh_from_db()
    assert handover.status == HandoverStatus.ENDED
    assert handover.end_reason == EndReason.STAFF_ENDED
    assert handover.ended_by == admin_user
    assert handover.events.filter(kind=EventKind.ENDED, data={"reason": "staff_ended"}).exists()
    assert len(callbacks) == 1  # the agent is disconnected
    entry = LogEntry.objects.get(object_id=str(handover.pk))
    assert (entry.user, entry.action_flag) == (admin_user, CHANGE)
    # An ended session has no button, and a second POST changes nothing.
    assert "End session" not in admin_client.get(change_url(handover)).content.decode()
    admin_client.post(end_url(handover))
    assert LogEntry.objects.count() == 1


def test_end_session_is_post_only(admin_client: Client, handover: Handover) -> None:
    assert admin_client.get(end_url(handover)).status_code == 405
    handover.refresh_from_db()
    assert handover.is_open


def test_the_end_session_action(admin_client: Client, handover: Handover) -> None:
    other = HandoverFactory()
    ended = HandoverFactory(status=HandoverStatus.ENDED, end_reason=EndReason.EXPIRED)
    response = admin_client.post(
        LIST_URL,
        {"action": "end_sessions", "_selected_action": [handover.pk, other.pk, ended.pk]},
        follow=True,
    )
    assert "2 sessions ended." in response.content.decode()
    assert Handover.objects.filter(end_reason=EndReason.STAFF_ENDED).count() == 2
    ended.refresh_from_db()
    assert ended.end_reason == EndReason.EXPIRED


@pytest.fixture
def reviewer() -> Client:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Handover reviewers"))
    client = Client()
    client.force_login(user)
    return client


def test_reviewers_read_the_list_and_the_transcript(reviewer: Client, handover: Handover) -> None:
    listing = reviewer.get(LIST_URL)
    assert listing.status_code == 200
    assert "sess-42" in listing.content.decode()
    # They may export transcripts (view permission), not end sessions.
    assert 'value="export_json"' in listing.content.decode()
    assert 'value="end_sessions"' not in listing.content.decode()
    detail = reviewer.get(change_url(handover))
    assert detail.status_code == 200
    assert "Hello, I am Alex." in detail.content.decode()
    assert "End session" not in detail.content.decode()


def test_reviewers_cannot_end_a_session(reviewer: Client, handover: Handover) -> None:
    assert reviewer.post(end_url(handover)).status_code == 403
    response = reviewer.post(
        LIST_URL, {"action": "end_sessions", "_selected_action": [handover.pk]}
    )
    assert response.status_code in (200, 302)
    handover.refresh_from_db()
    assert handover.is_open


def test_reviewers_group_has_only_view_permissions() -> None:
    codenames = set(
        Group.objects.get(name="Handover reviewers").permissions.values_list("codename", flat=True)
    )
    assert codenames == {"view_handover", "view_endpoint"}


def test_no_secret_in_any_page(admin_client: Client, handover: Handover) -> None:
    for url in [LIST_URL, change_url(handover)]:
        content = admin_client.get(url).content
        assert SIGNING_SECRET.encode() not in content
        assert CLIENT_SECRET.encode() not in content


def test_a_callback_given_up_is_shown_and_filtered(
    admin_client: Client, handover: Handover
) -> None:
    HandoverEventFactory(
        handover=handover,
        data={"text": "Are you there?"},
        delivery="failed",
        delivery_attempts=10,
        delivery_error="The callback URL answered 503",
    )
    other = HandoverFactory()
    html = admin_client.get(change_url(handover)).content.decode()
    assert "callback failed · 10 attempts · The callback URL answered 503" in html
    listed = admin_client.get(LIST_URL, {"attention": "failed_callbacks"}).content.decode()
    assert handover.session_id in listed
    assert other.session_id not in listed
    failed_messages = admin_client.get(LIST_URL, {"attention": "failed_messages"})
    assert handover.session_id in failed_messages.content.decode()
