"""Admin login protection: lockout per username and address, case-blind, resettable."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from security.backends import find_user
from security.lockout import client_ip

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("admin:login")
PASSWORD = "a-long-admin-password-for-tests"
LIMIT = 5


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    # Hundreds of logins: a fast hash (what is under test is the lockout, not the hash).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("Admin", "", PASSWORD)


def log_in(client: Client, username: str, password: str = PASSWORD, **extra: str):
    return client.post(
        LOGIN_URL, {"username": username, "password": password, "next": "/admin/"}, **extra
    )


def is_logged_in(response) -> bool:
    return response.status_code == 302 and response.url == "/admin/"


def fail(client: Client, times: int, usernames: list[str] | None = None, **extra: str) -> list:
    usernames = usernames or ["Admin"]
    return [
        log_in(client, usernames[n % len(usernames)], "wrong-password", **extra)
        for n in range(times)
    ]


def test_the_right_password_logs_in_whatever_the_case_of_the_username(client, staff):
    assert is_logged_in(log_in(client, "aDMIN"))
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_200_wrong_passwords_then_the_right_one_is_refused(client, staff):
    answers = fail(client, 200)

    assert [r.status_code for r in answers[: LIMIT - 1]] == [200] * (LIMIT - 1)
    assert {r.status_code for r in answers[LIMIT - 1 :]} == {429}
    right = log_in(client, "Admin")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_case_varied_usernames_count_together(client, staff):
    full_width = "\uff41\uff44\uff4d\uff49\uff4e"  # "admin" in full-width letters (NFKC)
    fail(client, LIMIT, ["admin", "ADMIN", "Admin", "aDmIn", full_width])

    right = log_in(client, "admIN")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_page_says_why_and_for_how_long_in_the_admin_style(client, staff, settings):
    html = fail(client, LIMIT)[-1].content.decode()

    assert 'id="site-name"' in html  # the admin's header
    assert f"Login locked: {LIMIT} failed logins for this username from your address." in html
    assert "Wait 15 minutes before the next attempt" in html


def test_another_address_is_not_locked_out(client, staff):
    fail(client, LIMIT, REMOTE_ADDR="192.0.2.1")

    assert log_in(client, "Admin", REMOTE_ADDR="192.0.2.1").status_code == 429
    assert is_logged_in(log_in(client, "Admin", REMOTE_ADDR="192.0.2.2"))


def test_a_success_before_the_limit_starts_the_count_again(client, staff):
    fail(client, LIMIT - 1)
    assert is_logged_in(log_in(client, "Admin"))
    client.logout()
    fail(client, LIMIT - 1)
    assert is_logged_in(log_in(client, "Admin"))


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("axes_reset_username", ["admin"]),
        ("axes_reset_ip_username", ["127.0.0.1", "admin"]),
        ("axes_reset_ip", ["127.0.0.1"]),
        ("axes_reset", []),
    ],
)
def test_the_reset_commands_unlock(client, staff, command, args, capsys):
    fail(client, LIMIT)
    assert log_in(client, "Admin").status_code == 429

    call_command(command, *args)

    assert "removed" in capsys.readouterr().out
    assert is_logged_in(log_in(client, "Admin"))


def test_behind_a_proxy_the_forwarded_address_counts(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    fail(client, LIMIT, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)

    forged = log_in(client, "Admin", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7", **proxy)
    assert forged.status_code == 429
    assert is_logged_in(log_in(client, "Admin", HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy))


class FakeRequest:
    def __init__(self, **meta: str) -> None:
        self.META = meta


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "address"),
    [
        (0, "10.0.0.2", "203.0.113.7", "10.0.0.2"),
        (1, "10.0.0.2", "203.0.113.7", "203.0.113.7"),
        (1, "10.0.0.2", "1.1.1.1, 203.0.113.7", "203.0.113.7"),
        (2, "10.0.0.3", "1.1.1.1,203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "10.0.0.3", "203.0.113.7", "10.0.0.3"),  # not through both proxies
        (1, "10.0.0.2", None, "10.0.0.2"),
    ],
)
def test_client_ip(settings, count, remote, forwarded, address):
    settings.TRUSTED_PROXY_COUNT = count
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip(FakeRequest(**meta)) == address


def test_usernames_differing_only_in_case_are_each_reached_by_their_own_name(django_user_model):
    upper = django_user_model.objects.create_user("ADA", password=PASSWORD)
    title = django_user_model.objects.create_user("Ada", password=PASSWORD)

    assert find_user("ADA") == upper
    assert find_user("Ada") == title
    assert find_user("ada") is None
