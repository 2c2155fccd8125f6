"""The "Handover overview" admin page: figures, charts, links, permissions, query count."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import EndpointFactory, HandoverFactory, UserFactory
from tests.overview_seed import seed

pytestmark = pytest.mark.django_db

URL = reverse("handover-overview")


@pytest.fixture
def endpoints() -> dict:
    return {"A": EndpointFactory(name="Endpoint A"), "B": EndpointFactory(name="Endpoint B")}


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">(?:<a href="[^"]*">)?([^<]*)<', html)
    assert match, name
    return match.group(1)


def row(html: str, key: str) -> list[str]:
    match = re.search(rf'<tr data-row="{key}"><th scope="row">[^<]*</th>(.*?)</tr>', html)
    assert match, key
    return re.findall(r"<td>([^<]*)</td>", match.group(1))


def test_the_page_shows_the_figures(admin_client: Client, endpoints: dict) -> None:
    seed(timezone.now(), endpoints)
    html = admin_client.get(URL).content.decode()
    assert figure(html, "open") == "4"
    assert (figure(html, "starting"), figure(html, "queued"), figure(html, "active")) == (
        "1",
        "2",
        "1",
    )
    assert figure(html, "longest_wait").startswith("20 min")
    assert row(html, "started")[1] == "8"  # the last 7 days do not depend on the hour
    assert row(html, "reached_agent")[1] == "4"
    assert row(html, "ended_user_ended")[1] == "1"
    assert row(html, "time_to_agent_median")[1] == "2 min 00 s"
    assert row(html, "time_to_reply_p90")[1] == "13 min 00 s"
    assert html.count('class="chart-bar"') == 24 + 30
    assert "<title id=" in html
    assert "<desc id=" in html


def test_one_endpoint(admin_client: Client, endpoints: dict) -> None:
    seed(timezone.now(), endpoints)
    html = admin_client.get(URL, {"endpoint": endpoints["B"].pk}).content.decode()
    assert figure(html, "open") == "0"
    assert row(html, "ended_staff_ended")[1] == "1"
    assert f'<option value="{endpoints["B"].pk}" selected>' in html
    # Attention links go to the sessions list, filtered the same way.
    assert f"?attention=failed_messages&amp;endpoint__id__exact={endpoints['B'].pk}" in html


def test_the_attention_links(admin_client: Client, endpoints: dict) -> None:
    seed(timezone.now(), endpoints)
    html = admin_client.get(URL).content.decode()
    changelist = reverse("admin:endpoints_handover_changelist")
    assert f'<a href="{changelist}?attention=failed_callbacks">1</a>' in html
    listing = admin_client.get(changelist, {"attention": "failed_callbacks"}).content.decode()
    assert "overview-4" in listing  # the session whose callback failed
    assert "overview-0" not in listing


def test_linked_from_the_index_and_the_sessions_list(admin_client: Client) -> None:
    link = f'<a href="{URL}">Handover overview</a>'
    assert link in admin_client.get(reverse("admin:index")).content.decode()
    assert link in admin_client.get(reverse("admin:endpoints_handover_changelist")).content.decode()


def test_reviewers_see_it() -> None:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Handover reviewers"))
    client = Client()
    client.force_login(user)
    assert client.get(URL).status_code == 200
    assert URL in client.get(reverse("admin:index")).content.decode()


def test_staff_without_the_view_permission_get_403() -> None:
    client = Client()
    user = UserFactory(is_staff=True, view=["endpoints.endpoint"])
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert URL not in client.get(reverse("admin:index")).content.decode()


def test_anonymous_users_are_sent_to_the_login() -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def _queries(client: Client, **params: object) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, params).status_code == 200
    return len(queries)


def test_the_same_queries_for_1_or_200_handovers(admin_client: Client, endpoints: dict) -> None:
    now = timezone.now()
    HandoverFactory(endpoint=endpoints["A"], started_at=now - timedelta(minutes=3))
    admin_client.get(URL)  # warm caches (content types, session)
    one = _queries(admin_client), _queries(admin_client, endpoint=endpoints["A"].pk)
    for index in range(199):
        HandoverFactory(
            endpoint=endpoints["A" if index % 2 else "B"],
            started_at=now - timedelta(minutes=index * 11),
            status="ended",
            end_reason=["agent_left", "expired", "error"][index % 3],
            ended_at=now - timedelta(minutes=index * 11 - 2),
        )
    assert (_queries(admin_client), _queries(admin_client, endpoint=endpoints["A"].pk)) == one
