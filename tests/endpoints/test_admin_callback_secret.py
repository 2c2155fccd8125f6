"""The endpoint's callback signing secret in the admin: write-only, encrypted, rotatable."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.urls import reverse

from endpoints.models import Endpoint
from tests.admin_forms import endpoint_form
from tests.api.conftest import token_client
from tests.factories import EndpointFactory, GenesysSettingsFactory, TokenFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:endpoints_endpoint_add")
SIGNING_SECRET = "planted-Signing-Secret-1b2c"
ROTATED_SECRET = "planted-Signing-Secret-rotated-9f"


def change_url(endpoint: Endpoint) -> str:
    return reverse("admin:endpoints_endpoint_change", args=[endpoint.pk])


def raw_secret(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT callback_signing_secret FROM endpoints_endpoint WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_secret_is_stored_encrypted(admin_client) -> None:
    data = endpoint_form(
        callback_url="https://bot.example.com/cb", callback_signing_secret=SIGNING_SECRET
    )
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint = Endpoint.objects.get()
    assert endpoint.callback_signing_secret == SIGNING_SECRET
    assert SIGNING_SECRET not in raw_secret(endpoint.pk)
    assert raw_secret(endpoint.pk)


def test_a_callback_url_without_a_secret_is_refused(admin_client) -> None:
    response = admin_client.post(ADD_URL, endpoint_form(callback_url="https://bot.example.com/cb"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "A callback URL needs a signing secret" in errors["callback_signing_secret"][0]
    assert not Endpoint.objects.exists()


def test_no_callback_url_needs_no_secret(admin_client) -> None:
    assert admin_client.post(ADD_URL, endpoint_form()).status_code == 302
    assert Endpoint.objects.get().callback_signing_secret == ""


@pytest.fixture
def endpoint() -> Endpoint:
    return GenesysSettingsFactory(
        endpoint__callback_url="https://bot.example.com/cb",
        endpoint__callback_signing_secret=SIGNING_SECRET,
    ).endpoint


def test_blank_keeps_the_stored_bytes(admin_client, endpoint) -> None:
    before = raw_secret(endpoint.pk)
    data = endpoint_form(endpoint, name="Renamed", callback_url="https://bot.example.com/cb")
    response = admin_client.post(change_url(endpoint), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert raw_secret(endpoint.pk) == before
    endpoint.refresh_from_db()
    assert endpoint.name == "Renamed"


def test_entering_a_new_secret_rotates_it(admin_client, endpoint) -> None:
    data = endpoint_form(
        endpoint,
        callback_url="https://bot.example.com/cb",
        callback_signing_secret=ROTATED_SECRET,
    )
    assert admin_client.post(change_url(endpoint), data).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.callback_signing_secret == ROTATED_SECRET


def test_the_change_page_shows_whether_it_is_set_never_the_secret(admin_client, endpoint) -> None:
    response = admin_client.get(change_url(endpoint))
    html = response.content.decode()
    assert SIGNING_SECRET not in html
    assert raw_secret(endpoint.pk) not in html
    assert "A secret is stored." in html
    assert 'autocomplete="new-password"' in html
    unset = admin_client.get(change_url(EndpointFactory())).content.decode()
    assert "Required with a callback URL." in unset


def test_an_unreadable_secret_must_be_entered_again(admin_client, endpoint, settings, new_key):
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    html = admin_client.get(change_url(endpoint)).content.decode()
    assert "Secret unreadable" in html
    data = endpoint_form(endpoint, callback_url="https://bot.example.com/cb")
    response = admin_client.post(change_url(endpoint), data)
    assert response.status_code == 200
    assert "enter it again" in str(response.context["adminform"].form.errors)


def test_the_secret_never_leaves_in_a_page_the_history_or_the_api(admin_client, endpoint):
    data = endpoint_form(
        endpoint,
        callback_url="https://bot.example.com/cb",
        callback_signing_secret=ROTATED_SECRET,
    )
    admin_client.post(change_url(endpoint), data)
    pages = [
        reverse("admin:endpoints_endpoint_changelist"),
        change_url(endpoint),
        reverse("admin:endpoints_endpoint_history", args=[endpoint.pk]),
    ]
    api = token_client(TokenFactory(user=UserFactory(view=["endpoints.endpoint"])))
    responses = [admin_client.get(url) for url in pages] + [
        api.get(reverse("api:endpoint-detail", kwargs={"id": endpoint.public_id})),
        api.get(reverse("api:endpoint-list")),
    ]
    for response in responses:
        assert response.status_code == 200
        for secret in (SIGNING_SECRET, ROTATED_SECRET):
            assert secret.encode() not in response.content


def test_error_reports_never_show_the_posted_signing_secret(admin_client):
    from django.urls import reverse

    response = admin_client.post(
        reverse("admin:endpoints_endpoint_add"), {"callback_signing_secret": "posted-secret"}
    )
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"
