"""OAuth2 connections in the admin: a write-only, encrypted client secret."""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection as db
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape

from genesys.models import OAuth2Connection
from tests.factories import (
    CLIENT_SECRET,
    UNSENDABLE_SECRET,
    OAuth2ConnectionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:genesys_oauth2connection_add")
LIST_URL = reverse("admin:genesys_oauth2connection_changelist")


def change_url(row: OAuth2Connection) -> str:
    return reverse("admin:genesys_oauth2connection_change", args=[row.pk])


def form(**values: str) -> dict[str, str]:
    return {
        "name": "Genesys EU",
        "oauth_url": "https://login.mypurecloud.de/oauth/token",
        "client_id": "5f1b0a4e-client",
        "client_secret": CLIENT_SECRET,
        "scope": "",
        **values,
    }


def raw_secret(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM genesys_oauth2connection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_add_form_labels_and_a_write_only_secret_input(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    for label in ["OAuth URL", "Client ID", "Client Secret", "Scope"]:
        assert label in html
    assert 'type="password" name="client_secret" autocomplete="new-password"' in html


def test_created_secret_is_encrypted_and_shown_nowhere(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = admin_client.post(ADD_URL, form())
    assert response.status_code == 302
    row = OAuth2Connection.objects.get()
    assert row.client_secret == CLIENT_SECRET
    assert CLIENT_SECRET not in raw_secret(row.pk)
    pages = [
        admin_client.get(LIST_URL),
        admin_client.get(change_url(row)),
        admin_client.get(reverse("admin:genesys_oauth2connection_history", args=[row.pk])),
        admin_client.get(reverse("admin:index")),
    ]
    for page in pages:
        assert page.status_code == 200
        assert CLIENT_SECRET not in page.content.decode()
    assert "A secret is stored. Leave blank to keep it" in pages[1].content.decode()
    assert ">set<" in pages[0].content.decode()
    assert CLIENT_SECRET not in caplog.text
    assert all(CLIENT_SECRET not in entry.change_message for entry in LogEntry.objects.all())


def test_secret_is_required_for_a_new_connection(admin_client):
    response = admin_client.post(ADD_URL, form(client_secret=""))
    assert response.status_code == 200
    assert "Enter the OAuth client&#x27;s secret." in response.content.decode()
    assert not OAuth2Connection.objects.exists()


def test_blank_secret_on_edit_keeps_the_stored_bytes(admin_client):
    row = OAuth2ConnectionFactory()
    before = raw_secret(row.pk)
    response = admin_client.post(change_url(row), form(name="Renamed", client_secret=""))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.name == "Renamed"
    assert raw_secret(row.pk) == before


def test_new_secret_on_edit_replaces_it(admin_client):
    row = OAuth2ConnectionFactory()
    admin_client.post(change_url(row), form(client_secret="a-brand-new-secret"))
    assert OAuth2Connection.objects.get(pk=row.pk).client_secret == "a-brand-new-secret"


@pytest.fixture
def lost_key_row(new_key):
    row = OAuth2ConnectionFactory()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        yield row


def test_unreadable_secret_asks_to_enter_it_again_instead_of_failing(admin_client, lost_key_row):
    row = lost_key_row
    before = raw_secret(row.pk)
    listing = admin_client.get(LIST_URL)
    assert listing.status_code == 200
    assert "unreadable, enter it again" in listing.content.decode()
    page = admin_client.get(change_url(row))
    assert page.status_code == 200
    assert "Secret unreadable (the key it was encrypted with is gone): enter it again." in (
        page.content.decode()
    )
    response = admin_client.post(change_url(row), form(name=row.name, client_secret=""))
    assert response.status_code == 200
    assert "The stored secret is unreadable: enter it again." in response.content.decode()
    assert raw_secret(row.pk) == before
    response = admin_client.post(change_url(row), form(name=row.name, client_secret="fresh"))
    assert response.status_code == 302
    assert OAuth2Connection.objects.get(pk=row.pk).client_secret == "fresh"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("oauth_url", "https://evil.example.com/oauth/token", "is not a Genesys Cloud OAuth token"),
        ("oauth_url", "http://login.mypurecloud.de/oauth/token", "Expected https://login.&lt;"),
        ("oauth_url", "https://login.mypurecloud.de:444/oauth/token", "Expected https://login."),
        ("oauth_url", "not a url", "Enter a valid URL."),
        ("client_id", "", "This field is required."),
        ("client_id", "id\x1b[31m", "The Client ID may hold only printable ASCII characters"),
        ("client_id", "clïent-€", "The Client ID may hold only printable ASCII characters"),
        ("name", "x" * 101, "Ensure this value has at most 100 characters"),
        ("client_secret", "s" * 1001, "Ensure this value has at most 1000 characters"),
    ],
)
def test_bad_connection_input_is_explained_and_nothing_saved(admin_client, field, value, message):
    response = admin_client.post(ADD_URL, form(**{field: value}))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert CLIENT_SECRET not in html
    assert not OAuth2Connection.objects.exists()


SECRET_REFUSED = (
    "The client secret may hold only printable ASCII characters (letters, digits and "
    "punctuation; no accents, symbols such as €, or invisible characters), as Genesys Cloud "
    "issues them: copy it again from Genesys Cloud and check that it was pasted whole."
)


@pytest.mark.parametrize(
    "secret", [UNSENDABLE_SECRET, "planted-Latin-1-sécret", "planted-bell\x07-secret"]
)
def test_a_secret_http_basic_cannot_carry_is_refused_and_not_echoed(admin_client, caplog, secret):
    caplog.set_level(logging.DEBUG)
    response = admin_client.post(ADD_URL, form(client_secret=secret))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count(escape(SECRET_REFUSED)) == 1
    assert "Remove the control characters" not in html
    assert escape(secret) not in html
    assert secret not in caplog.text
    assert not OAuth2Connection.objects.exists()


def test_invalid_submission_does_not_echo_the_secret(admin_client):
    response = admin_client.post(ADD_URL, form(oauth_url="nope"))
    assert response.status_code == 200
    assert CLIENT_SECRET not in response.content.decode()


def test_duplicate_name_is_refused(admin_client):
    OAuth2ConnectionFactory(name="Genesys EU")
    response = admin_client.post(ADD_URL, form())
    assert "OAuth2 connection with this Name already exists." in response.content.decode()


def test_error_reports_never_show_the_posted_secret(admin_client):
    from django.views.debug import SafeExceptionReporterFilter

    response = admin_client.post(ADD_URL, form(oauth_url="nope"))
    request = response.wsgi_request
    assert request.sensitive_post_parameters == ("client_secret",)
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleansed["client_secret"] != CLIENT_SECRET


def test_a_view_only_user_reads_a_connection(client):
    client.force_login(UserFactory(is_staff=True, view=["genesys.oauth2connection"]))
    row = OAuth2ConnectionFactory(client_id="5f1b0a4e-client")
    response = client.get(change_url(row))
    assert response.status_code == 200  # was a 500: the read-only form has no client_id
    assert "5f1b0a4e-client" in response.content.decode()
    assert CLIENT_SECRET not in response.content.decode()
