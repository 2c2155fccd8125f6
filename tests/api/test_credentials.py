"""Verified API credentials kept briefly (``endpoints.api.credentials``): the same key or
token again costs no query; revoking, deleting or deactivating forgets it at once; an
expiry counts on every request; nothing secret is in the cache."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from endpoints.api import credentials
from endpoints.models import ChannelAPIKey
from tests.api.conftest import key_client, token_client
from tests.factories import ChannelFactory, EndpointFactory, TokenFactory, UserFactory, issue_key

pytestmark = pytest.mark.django_db

KEYS_URL = reverse("admin:endpoints_channelapikey_changelist")


@pytest.fixture
def endpoint():
    return EndpointFactory()


@pytest.fixture
def detail(endpoint) -> str:
    return reverse("api:endpoint-detail", kwargs={"id": endpoint.public_id})


@pytest.fixture
def channel_key(endpoint) -> tuple[ChannelAPIKey, str]:
    return issue_key(ChannelFactory(endpoints=[endpoint]))


def test_the_same_key_again_costs_no_query(channel_key, detail, django_assert_num_queries):
    client = key_client(channel_key[1])
    assert client.get(detail).status_code == 200  # the key, last used, the endpoint
    with django_assert_num_queries(1):  # the endpoint
        assert client.get(detail).status_code == 200


def test_the_same_token_again_costs_no_query_but_the_endpoints(
    api, detail, django_assert_num_queries
):
    assert api.get(detail).status_code == 200
    with django_assert_num_queries(1):  # the endpoint (the user's permissions are kept)
        assert api.get(detail).status_code == 200


@pytest.mark.parametrize(
    ("via", "change"),
    [
        pytest.param("own", lambda user, group: user.user_permissions.clear(), id="own-cleared"),
        pytest.param("group", lambda user, group: group.permissions.clear(), id="group-cleared"),
        pytest.param("group", lambda user, group: user.groups.remove(group), id="left-group"),
        pytest.param("group", lambda user, group: group.user_set.clear(), id="group-emptied"),
        pytest.param("group", lambda user, group: group.delete(), id="group-deleted"),
    ],
)
def test_a_permission_taken_away_counts_on_the_next_request(detail, via, change):
    view = Permission.objects.get(codename="view_endpoint")
    user = UserFactory()
    group = Group.objects.create(name="viewers")
    if via == "own":
        user.user_permissions.add(view)
    else:
        group.permissions.add(view)
        user.groups.add(group)
    client = token_client(TokenFactory(user=user))
    assert client.get(detail).status_code == 200

    change(user, group)

    assert client.get(detail).status_code == 403


def test_a_permission_given_counts_on_the_next_request(detail):
    user = UserFactory()
    client = token_client(TokenFactory(user=user))
    assert client.get(detail).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_endpoint"))
    assert client.get(detail).status_code == 200


@override_settings(API_CREDENTIAL_CACHE_SECONDS=0)
def test_zero_verifies_every_request(channel_key, api, detail, django_assert_num_queries):
    client = key_client(channel_key[1])
    client.get(detail)
    api.get(detail)
    with django_assert_num_queries(2):  # the key, the endpoint
        assert client.get(detail).status_code == 200
    with django_assert_num_queries(3):  # the token and user, permissions, the endpoint
        assert api.get(detail).status_code == 200


def test_another_key_of_the_same_channel_is_its_own(channel_key, detail):
    client = key_client(channel_key[1])
    assert client.get(detail).status_code == 200
    _other, other_key = issue_key(channel_key[0].channel)
    assert key_client(other_key).get(detail).status_code == 200
    wrong = channel_key[1][:-1] + ("A" if channel_key[1][-1] != "A" else "B")
    assert key_client(wrong).get(detail).status_code == 401


def test_revoking_in_the_admin_stops_the_key_at_once(admin_client, channel_key, detail):
    api_key, key = channel_key
    client = key_client(key)
    assert client.get(detail).status_code == 200

    change = reverse("admin:endpoints_channelapikey_change", args=[api_key.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    admin_client.post(change, {**data, "revoked": "on"})

    assert ChannelAPIKey.objects.get().revoked
    assert client.get(detail).json() == {"detail": "This API key has been revoked."}


def test_the_revoke_action_stops_used_keys_at_once(admin_client, channel_key, detail):
    api_key, key = channel_key
    client = key_client(key)
    assert client.get(detail).status_code == 200

    admin_client.post(KEYS_URL, {"action": "revoke", "_selected_action": [api_key.pk]})

    assert client.get(detail).json() == {"detail": "This API key has been revoked."}


def test_deleting_the_key_or_its_channel_stops_it_at_once(channel_key, detail):
    api_key, key = channel_key
    client = key_client(key)
    assert client.get(detail).status_code == 200
    api_key.channel.delete()
    assert client.get(detail).status_code == 401


def test_a_renamed_channel_is_named_anew(channel_key, detail):
    api_key, key = channel_key
    key_client(key).get(detail)
    api_key.channel.name = "Renamed"
    api_key.channel.save()
    assert credentials.recalled_api_key(key) is None


def test_a_key_that_expired_since_it_was_kept_is_refused(channel_key, detail):
    api_key, key = channel_key
    key_client(key).get(detail)
    # As kept while valid, an expiry date that has passed since.
    api_key.expiry_date = timezone.now() - timedelta(seconds=1)
    credentials.remember_api_key(key, api_key)

    assert key_client(key).get(detail).json() == {"detail": "This API key has expired."}


def _deactivate(token) -> None:
    user = User.objects.get(pk=token.user_id)
    user.is_active = False
    user.save()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda token: token.delete(), id="token-deleted"),
        pytest.param(lambda token: token.user.delete(), id="user-deleted"),
        pytest.param(_deactivate, id="user-deactivated"),
    ],
)
def test_a_token_stops_at_once_when_it_or_its_user_goes(viewer_token, detail, change):
    client = token_client(viewer_token)
    assert client.get(detail).status_code == 200
    change(viewer_token)
    assert client.get(detail).status_code == 401


def test_a_login_does_not_forget_the_users_token(viewer_token, detail, client):
    token_client(viewer_token).get(detail)
    user = viewer_token.user
    user.set_password("a-password-for-this-test")
    user.save()
    token_client(viewer_token).get(detail)  # kept again after the password change
    client.force_login(user)  # writes last_login
    assert User.objects.get(pk=user.pk).last_login is not None
    assert credentials.recalled_token(viewer_token.key) is not None


def test_a_kept_token_user_is_the_user_without_its_password(viewer_token, detail):
    token_client(viewer_token).get(detail)
    token = credentials.recalled_token(viewer_token.key)
    assert token.user.pk == viewer_token.user_id
    assert token.user.get_deferred_fields() >= {"password", "email"}
    assert token.user.has_perm("endpoints.view_endpoint")


def test_nothing_secret_is_in_the_cache(redis_cache, channel_key, viewer_token, detail):
    api_key, key = channel_key
    user = viewer_token.user
    user.set_password("a-password-for-this-test")
    user.save()
    assert key_client(key).get(detail).status_code == 200
    assert token_client(viewer_token).get(detail).status_code == 200

    stored = b""
    for name in redis_cache.scan_iter(f"{redis_cache.prefix}:*"):
        value = redis_cache.get(name)
        stored += name + b"\n" + value + b"\n"
        if value.startswith(b"\x80"):  # a pickle: its text too, unescaped
            stored += repr(pickle.loads(value)).encode() + b"\n"  # noqa: S301 (our own)
    assert b"api-credential:api-key:" in stored
    assert b"api-credential:token:" in stored
    secrets = [
        key,
        key.partition(".")[2],
        api_key.hashed_key.split("$")[-1],
        viewer_token.key,
        User.objects.get(pk=user.pk).password.split("$")[-1],
    ]
    for secret in secrets:
        assert secret.encode() not in stored
