"""API clients: anonymous, with a token of a user who may view configuration, and so on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from endpoints.api.representations import bodies
from tests.factories import TokenFactory, UserFactory

VIEW_CONFIGURATION = ["endpoints.endpoint", "genesys.oauth2connection"]


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """The throttle counts requests in the cache, and configuration bodies are kept per
    ETag: every test starts from none."""
    cache.clear()
    bodies.clear()


def token_client(token: Token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def key_client(key: str) -> APIClient:
    """A client sending a channel API key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def viewer_token() -> Token:
    """The token of a user with the view permissions of endpoints and connections, no more."""
    return TokenFactory(user=UserFactory(view=VIEW_CONFIGURATION))


@pytest.fixture
def api(viewer_token: Token) -> APIClient:
    return token_client(viewer_token)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


DRIVE_HANDOVER = "endpoints.drive_handover"


@pytest.fixture
def driver_token() -> Token:
    """The token of a channel: a user who may start and drive handovers, no more."""
    return TokenFactory(user=UserFactory(perms=[DRIVE_HANDOVER]))


@pytest.fixture
def driver(driver_token: Token) -> APIClient:
    return token_client(driver_token)


REDIS_CACHE_URL = os.environ.get("TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def redis_cache(settings) -> Iterator[redis.Redis]:
    """Django's cache on the machine's Redis, under a key prefix of this test's own (others
    may use the same Redis database); yields a plain client on that database, and deletes
    the test's keys after."""
    prefix = f"hp-test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis.from_url(REDIS_CACHE_URL)
    client.prefix = prefix  # type: ignore[attr-defined]
    yield client
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
