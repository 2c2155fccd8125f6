"""Key rotation covers every copy of a secret: the OAuth tokens cached encrypted in Redis."""

from __future__ import annotations

import os
from io import StringIO

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from genesys.platform import tokens
from genesys.platform.client import GenesysClient
from tests.factories import CLIENT_SECRET

pytestmark = pytest.mark.django_db

REDIS_CACHE_URL = os.environ.get("TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def redis_cache(settings):
    """Django's cache on the machine's Redis (a database of its own, flushed)."""
    redis.Redis.from_url(REDIS_CACHE_URL).flushdb()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
        }
    }
    cache.clear()
    yield cache
    redis.Redis.from_url(REDIS_CACHE_URL).flushdb()


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_rotate_then_drop_the_old_key_keeps_genesys_calls_working(
    genesys, connection, redis_cache, settings, new_key
):
    region = connection.region
    client = GenesysClient(region=region, connection=connection)
    client.request("GET", f"/api/v2/routing/queues/{genesys.queue_id}", what="the queue lookup")
    key = tokens._cache_key(connection, region)
    assert redis_cache.get(key)  # the token, encrypted, in Redis
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]

    out = StringIO()  # the cached token is still under the old key
    with pytest.raises(CommandError):
        call_command("rotate_encryption_keys", "--check", stdout=out, stderr=out)
    assert (
        f"cache: Genesys token of OAuth2 connection pk={connection.pk}: 1 under a retired key"
        in (out.getvalue())
    )
    report = rotate()
    assert f"cache: Genesys token of OAuth2 connection pk={connection.pk}: dropped 1" in report
    assert "Every secret is under the first key." in rotate("--check")

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key dropped
    connection.refresh_from_db()
    client = GenesysClient(region=region, connection=connection)
    client.request("GET", f"/api/v2/routing/queues/{genesys.queue_id}", what="the queue lookup")
    assert len(genesys.requests("/oauth/token")) == 2  # one fresh token, no error
    assert CLIENT_SECRET not in report


def test_a_cached_token_left_under_a_dropped_key_is_a_miss_with_redis(
    genesys, connection, redis_cache, settings, new_key
):
    region = connection.region
    stale = tokens.access_token(connection, region)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    connection.client_secret = CLIENT_SECRET
    connection.save()
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # dropped without running the rotation
    fresh = tokens.access_token(connection, region)
    assert fresh != stale
    assert len(genesys.requests("/oauth/token")) == 2
