"""Genesys tests talk to the sandbox over real HTTP; these fixtures point the app at it."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from tests.factories import CLIENT_SECRET, GenesysSettingsFactory, OAuth2ConnectionFactory

CLIENT_ID = "portal-test-client"
QUEUE_NAME = "Portal Test Queue"


@pytest.fixture
def genesys(sandbox, settings):
    """The app configured to call the sandbox, with fast retries and short timeouts."""
    settings.GENESYS_API_BASE_URL = sandbox.url
    settings.GENESYS_HTTP_BACKOFF_SECONDS = 0.01
    settings.GENESYS_HTTP_BACKOFF_MAX_SECONDS = 0.05
    settings.GENESYS_HTTP_MAX_ATTEMPTS = 3
    settings.GENESYS_HTTP_READ_TIMEOUT = 2.0
    settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS = 5.0
    cache.clear()
    sandbox.put_client(CLIENT_ID, client_secret=CLIENT_SECRET)
    yield sandbox
    cache.clear()


@pytest.fixture
def connection(genesys, db):
    return OAuth2ConnectionFactory(name="Sandbox client", client_id=CLIENT_ID)


@pytest.fixture
def queue_id(genesys) -> uuid.UUID:
    queue = uuid.uuid4()
    genesys.put_queue(
        str(queue),
        name=QUEUE_NAME,
        agents_on_queue=3,
        agents_idle=2,
        conversations_waiting=1,
        estimated_wait_seconds=42,
    )
    return queue


@pytest.fixture
def genesys_settings(connection, queue_id):
    return GenesysSettingsFactory(
        queue_id=queue_id, queue_name=QUEUE_NAME, node_authentication=connection
    )
