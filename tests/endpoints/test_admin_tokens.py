"""Staff tooling's DRF tokens in the admin: by user, never by key; deleting one revokes it."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from tests.api.conftest import token_client
from tests.factories import TokenFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKENS_URL = reverse("admin:endpoints_stafftoken_changelist")


@pytest.fixture
def token():
    return TokenFactory(user=UserFactory(username="deploy-bot", view=["endpoints.endpoint"]))


def test_tokens_are_listed_by_user_without_their_key(admin_client, token):
    html = admin_client.get(TOKENS_URL).content.decode()
    assert "deploy-bot" in html
    assert token.key not in html


def test_no_page_shows_the_key_and_deleting_revokes_it(admin_client, token):
    client = token_client(token)
    assert client.get(reverse("api:endpoint-list")).status_code == 200
    change = reverse("admin:endpoints_stafftoken_change", args=[token.user_id])
    delete = reverse("admin:endpoints_stafftoken_delete", args=[token.user_id])

    pages = [admin_client.get(change), admin_client.get(delete)]
    pages.append(admin_client.post(delete, {"post": "yes"}, follow=True))
    pages.append(admin_client.get(reverse("admin:index")))  # recent actions

    for response in pages:
        assert response.status_code == 200
        assert token.key not in response.content.decode()
    assert "Token of deploy-bot" in pages[2].content.decode()
    assert all(token.key not in entry.object_repr for entry in LogEntry.objects.all())
    assert client.get(reverse("api:endpoint-list")).status_code == 401


def test_tokens_are_not_added_or_changed_in_the_admin(admin_client, token):
    assert admin_client.get(reverse("admin:endpoints_stafftoken_add")).status_code == 403
    change = reverse("admin:endpoints_stafftoken_change", args=[token.user_id])
    response = admin_client.post(change, {"user": UserFactory().pk})
    assert response.status_code == 403


def test_drfs_own_token_admin_is_gone(admin_client, token):
    assert b"/admin/authtoken/" not in admin_client.get(reverse("admin:index")).content


def test_deleting_a_user_lists_their_token_by_user_not_by_key(admin_client, token):
    delete = reverse("admin:auth_user_delete", args=[token.user_id])
    html = admin_client.get(delete).content.decode()
    assert "Token of deploy-bot" in html  # the token that goes with the user
    assert token.key not in html
    assert token.key not in repr(token)
