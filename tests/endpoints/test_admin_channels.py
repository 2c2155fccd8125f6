"""Channels and their API keys in the admin: the key is shown once, then never again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from endpoints.models import Channel, ChannelAPIKey
from tests.api.conftest import key_client
from tests.factories import ChannelFactory, EndpointFactory, issue_key

pytestmark = pytest.mark.django_db

ADD_KEY_URL = reverse("admin:endpoints_channelapikey_add")
KEYS_URL = reverse("admin:endpoints_channelapikey_changelist")


def change_url(api_key: ChannelAPIKey) -> str:
    return reverse("admin:endpoints_channelapikey_change", args=[api_key.pk])


@pytest.fixture
def channel() -> Channel:
    return ChannelFactory(name="Tenant A", endpoints=[EndpointFactory(name="A's bot")])


def issue_in_the_admin(admin_client, channel: Channel, **fields: str):
    data = {"channel": channel.pk, "name": "Production", "expiry_date_0": "", "expiry_date_1": ""}
    response = admin_client.post(ADD_KEY_URL, {**data, **fields})
    assert response.status_code == 200, response.content
    return response, response.context["key"]


def test_the_key_is_shown_once_and_works(admin_client, channel):
    response, key = issue_in_the_admin(admin_client, channel)

    api_key = ChannelAPIKey.objects.get()
    assert api_key.channel == channel
    assert key.startswith(f"{api_key.prefix}.")
    html = response.content.decode()
    assert key in html
    assert f"Authorization: Api-Key {key}" in html
    assert "no-store" in response["Cache-Control"]
    assert key_client(key).get(reverse("api:endpoint-list")).json()["count"] == 1


def test_the_key_is_never_shown_again(admin_client, channel):
    _response, key = issue_in_the_admin(admin_client, channel)
    api_key = ChannelAPIKey.objects.get()
    secret = key.partition(".")[2]

    pages = [
        change_url(api_key),
        KEYS_URL,
        reverse("admin:endpoints_channelapikey_history", args=[api_key.pk]),
        reverse("admin:endpoints_channel_change", args=[channel.pk]),
        reverse("admin:index"),  # recent actions
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert secret not in response.content.decode(), url
    # The prefix names it.
    assert api_key.prefix in admin_client.get(KEYS_URL).content.decode()


def test_the_key_is_in_no_message_session_or_log(admin_client, channel):
    response, key = issue_in_the_admin(admin_client, channel)
    secret = key.partition(".")[2]

    assert all(secret not in cookie.value for cookie in response.cookies.values())
    assert not list(response.context["messages"])
    for session in Session.objects.all():
        assert secret not in str(session.get_decoded())
    for entry in LogEntry.objects.all():
        assert secret not in f"{entry.object_repr} {entry.change_message} {entry.object_id}"
    api_key = ChannelAPIKey.objects.get()
    assert secret not in f"{api_key.pk} {api_key.hashed_key}"


def test_a_key_issued_with_an_expiry_stops_working_then(admin_client, channel):
    past = timezone.localtime() - timedelta(minutes=1)
    _response, key = issue_in_the_admin(
        admin_client,
        channel,
        expiry_date_0=past.strftime("%Y-%m-%d"),
        expiry_date_1=past.strftime("%H:%M:%S"),
    )
    assert ChannelAPIKey.objects.get().has_expired
    assert key_client(key).get(reverse("api:endpoint-list")).status_code == 401


def test_the_revoke_action_revokes(admin_client, channel):
    api_key, key = issue_key(channel)
    response = admin_client.post(
        KEYS_URL, {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True
    )
    assert "1 key revoked" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked
    assert key_client(key).get(reverse("api:endpoint-list")).status_code == 401


def test_a_revoked_key_cannot_be_unrevoked(admin_client, channel):
    api_key, _key = issue_key(channel, revoked=True)
    response = admin_client.get(change_url(api_key))
    form = response.context["adminform"].form
    assert "revoked" not in form.fields  # read-only once revoked


def test_a_key_stays_with_its_channel(admin_client, channel):
    api_key, _key = issue_key(channel)
    form = admin_client.get(change_url(api_key)).context["adminform"].form
    assert "channel" not in form.fields


def test_the_change_page_shows_last_use(admin_client, channel):
    api_key, key = issue_key(channel)
    key_client(key).get(reverse("api:endpoint-list"))
    api_key.refresh_from_db()
    response = admin_client.get(change_url(api_key))
    assert response.context["original"].last_used_at == api_key.last_used_at
    assert "Last used" in response.content.decode()


def test_the_channel_page_lists_its_keys_and_links_to_issue_one(admin_client, channel):
    api_key, _key = issue_key(channel, name="Staging")
    html = admin_client.get(reverse("admin:endpoints_channel_change", args=[channel.pk])).content
    assert api_key.prefix.encode() in html
    assert f"{ADD_KEY_URL}?channel={channel.pk}".encode() in html


def test_the_channel_list_costs_the_same_queries_for_1_or_20_channels(
    admin_client, django_assert_max_num_queries
):
    ChannelFactory(endpoints=[EndpointFactory()])
    url = reverse("admin:endpoints_channel_changelist")
    admin_client.get(url)
    for _ in range(19):
        issue_key(ChannelFactory(endpoints=[EndpointFactory(), EndpointFactory()]))
    with django_assert_max_num_queries(12):
        assert admin_client.get(url).status_code == 200


def test_the_librarys_own_key_model_is_not_in_the_admin(admin_client):
    assert b"/admin/rest_framework_api_key/" not in admin_client.get(reverse("admin:index")).content


def test_the_channel_autocomplete_of_the_key_form_is_ordered(admin_client) -> None:
    from endpoints.models import Channel

    for name in ("Zeta bot", "Alpha bot"):
        Channel.objects.create(name=name)
    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "endpoints", "model_name": "channelapikey", "field_name": "channel"},
    )
    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["Alpha bot", "Zeta bot"]
