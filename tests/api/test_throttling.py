"""Authenticated clients are throttled at ``API_THROTTLE_RATE``: 429 with Retry-After."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

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
