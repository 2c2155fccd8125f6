"""Authenticated clients are throttled at ``API_THROTTLE_RATE``: 429 with Retry-After."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from endpoints.api import throttling
from tests.api.conftest import token_client
from tests.factories import TokenFactory, UserFactory

pytestmark = pytest.mark.django_db


def with_rate(rate: str) -> override_settings:
    rest_framework = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": rate}}
    return override_settings(REST_FRAMEWORK=rest_framework)


def test_default_rate_comes_from_the_environment_setting():
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["user"] == settings.API_THROTTLE_RATE


def test_over_the_rate_answers_429_with_retry_after(api):
    url = reverse("api:endpoint-list")
    with with_rate("3/min"):
        statuses = [api.get(url).status_code for _ in range(4)]
        response = api.get(url)

    assert statuses == [200, 200, 200, 429]
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Request was throttled.")


def test_each_user_has_its_own_budget(api):
    url = reverse("api:endpoint-list")
    other = token_client(TokenFactory(user=UserFactory(view=["endpoints.endpoint"])))
    with with_rate("1/min"):
        assert api.get(url).status_code == 200
        assert api.get(url).status_code == 429
        assert other.get(url).status_code == 200


def test_a_changed_rate_applies_without_a_restart(api):
    url = reverse("api:endpoint-list")
    with with_rate("1/min"):
        api.get(url)
        assert api.get(url).status_code == 429
    with with_rate("100/min"):
        assert api.get(url).status_code == 200


# --- One counter per client and window, in Redis


class Clock:
    """``time.time`` of the throttle, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(1_000_000 * 60 + 10.0)  # 10 s into a minute
    monkeypatch.setattr(throttling, "time", clock)
    return clock


def test_over_the_rate_in_redis_answers_429_until_the_window_ends(api, redis_cache, clock):
    url = reverse("api:endpoint-list")
    with with_rate("3/min"):
        statuses = [api.get(url).status_code for _ in range(3)]
        clock.now += 20
        refused = api.get(url)
        clock.now += 30  # the next minute
        again = api.get(url)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    assert again.status_code == 200


def test_the_count_is_one_integer_per_client_and_window(api, redis_cache, clock, viewer_token):
    url = reverse("api:endpoint-list")
    with with_rate("1000/min"):
        for _ in range(5):
            api.get(url)

    keys = list(redis_cache.scan_iter(f"{redis_cache.prefix}:*throttle*"))
    assert len(keys) == 1
    assert keys[0].decode().endswith(f"throttle:user:{viewer_token.user.pk}:1000000")
    assert redis_cache.get(keys[0]) == b"5"  # not a history of timestamps
    assert 60 < redis_cache.ttl(keys[0]) <= 110  # past its window's end, by a window


def test_requests_at_once_are_all_counted(redis_cache):
    # DRF's history is read and written whole: requests at once lose each other's writes.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: throttling.count_request("k", expires_in=60), range(200)))
    assert throttling.count_request("k", expires_in=60) == 201


def test_a_request_costs_one_round_trip_to_redis(redis_cache, monkeypatch):
    sent = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(connection, command, check_health=True):
        sent.append(command)
        return send(connection, command, check_health)

    throttling.count_request("warm", expires_in=60)  # the connection made
    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    assert throttling.count_request("k", expires_in=60) == 1
    assert throttling.count_request("k", expires_in=60) == 2
    assert len(sent) == 2
