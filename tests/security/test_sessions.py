"""Admin sessions end after ADMIN_SESSION_IDLE_MINUTES without a request."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from security.sessions import LAST_SEEN_KEY
from tests.test_settings_checks import PRODUCTION, manage

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
IDLE_MINUTES = 30


def last_seen(client, seconds_ago: int) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds_ago
    session.save()


def test_an_idle_session_is_logged_out_with_the_reason(admin_client):
    assert admin_client.get(INDEX).status_code == 200
    last_seen(admin_client, IDLE_MINUTES * 60 + 1)

    response = admin_client.get(INDEX, follow=True)

    assert response.redirect_chain[0][0].startswith(reverse("admin:login"))
    assert "_auth_user_id" not in admin_client.session
    assert "Your session ended after 30 minutes without activity" in response.content.decode()


def test_activity_keeps_the_session_and_renews_it(admin_client):
    admin_client.get(INDEX)
    last_seen(admin_client, IDLE_MINUTES * 60 - 5)

    assert admin_client.get(INDEX).status_code == 200
    assert int(time.time()) - admin_client.session[LAST_SEEN_KEY] <= 2
    row = Session.objects.get(session_key=admin_client.session.session_key)
    assert row.expire_date - timezone.now() > timedelta(minutes=IDLE_MINUTES)


def test_the_stored_session_expires_after_the_idle_time_plus_a_minute(admin_client):
    admin_client.get(INDEX)

    row = Session.objects.get(session_key=admin_client.session.session_key)
    assert row.expire_date - timezone.now() <= timedelta(minutes=IDLE_MINUTES + 1)


def test_pages_read_within_a_minute_write_no_session(admin_client):
    admin_client.get(INDEX)
    before = Session.objects.get().expire_date

    admin_client.get(INDEX)

    assert Session.objects.get().expire_date == before


def test_idle_minutes_below_one_stop_the_app_with_the_fix():
    result = manage("check", **{**PRODUCTION, "ADMIN_SESSION_IDLE_MINUTES": "0"})
    assert result.returncode != 0
    assert "security.E001" in result.stderr
