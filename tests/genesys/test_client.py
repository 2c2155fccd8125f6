"""The Genesys client against the sandbox, over real HTTP."""

from __future__ import annotations

import logging
import socket

import pytest

from genesys.platform import errors, tokens
from genesys.platform.client import GenesysClient
from genesys.platform.regions import get_region
from tests.conftest import CLIENT_ID, QUEUE_NAME
from tests.factories import CLIENT_SECRET, OAuth2ConnectionFactory

pytestmark = pytest.mark.django_db

FRANKFURT = get_region("mypurecloud.de")


def client_for(connection) -> GenesysClient:
    return GenesysClient(region=FRANKFURT, connection=connection)


def test_token_request_uses_basic_auth_and_client_credentials(genesys, connection):
    connection.scope = "routing"
    connection.save()
    tokens.access_token(connection, FRANKFURT)
    [sent] = genesys.requests("/oauth/token")
    assert sent["method"] == "POST"
    assert sent["headers"]["Authorization"] == "Basic"
    assert sent["form"] == {"grant_type": "client_credentials", "scope": "routing"}


def test_token_is_cached_until_shortly_before_it_expires(genesys, connection, queue_id):
    client = client_for(connection)
    client.get_queue(str(queue_id))
    client.get_queue(str(queue_id))
    assert len(genesys.requests("/oauth/token")) == 1
    assert len(genesys.requests("/api/v2/routing/queues")) == 2


def test_keep_seconds_leaves_a_margin():
    assert tokens.keep_seconds(86400) == 86400 - 300
    assert tokens.keep_seconds(300) == 300 - 30
    assert tokens.keep_seconds(10) == 0


def test_a_changed_secret_never_reuses_the_old_token(genesys, connection):
    tokens.access_token(connection, FRANKFURT)
    genesys.put_client(CLIENT_ID, client_secret="rotated-secret")
    connection.client_secret = "rotated-secret"
    connection.save()
    tokens.access_token(connection, FRANKFURT)
    assert len(genesys.requests("/oauth/token")) == 2


def test_wrong_secret_is_a_credentials_error_that_shows_no_secret(genesys):
    wrong = OAuth2ConnectionFactory(name="Wrong one", client_id=CLIENT_ID, client_secret="nope")
    with pytest.raises(errors.GenesysCredentialsError) as error:
        tokens.access_token(wrong, FRANKFURT)
    message = str(error.value)
    assert "refused the client ID or secret of “Wrong one”" in message
    assert "Check the Client ID and Client Secret" in message
    assert "nope" not in message
    assert CLIENT_SECRET not in message


def test_expired_token_is_refreshed_once_and_the_call_retried(genesys, connection, queue_id):
    client = client_for(connection)
    client.get_queue(str(queue_id))
    genesys.expire_tokens()
    assert client.get_queue(str(queue_id))["name"] == QUEUE_NAME
    assert len(genesys.requests("/oauth/token")) == 2
    assert len(genesys.requests("/api/v2/routing/queues")) == 3


def test_a_token_refused_twice_is_not_retried_again(genesys, connection, queue_id):
    genesys.add_fault(path_prefix="/api/v2/routing/queues", status=401, times=5)
    with pytest.raises(errors.GenesysAuthenticationError):
        client_for(connection).get_queue(str(queue_id))
    assert len(genesys.requests("/api/v2/routing/queues")) == 2
    assert len(genesys.requests("/oauth/token")) == 2


def test_429_honours_retry_after_then_succeeds(genesys, connection, queue_id):
    genesys.add_fault(path_prefix="/api/v2/routing/queues", status=429, retry_after=1, times=1)
    assert client_for(connection).get_queue(str(queue_id))["name"] == QUEUE_NAME
    assert len(genesys.requests("/api/v2/routing/queues")) == 2


def test_retry_after_longer_than_allowed_gives_up_at_once(genesys, connection, queue_id, settings):
    settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS = 1
    genesys.add_fault(path_prefix="/api/v2/routing/queues", status=429, retry_after=60, times=5)
    with pytest.raises(errors.GenesysRateLimited, match="try again shortly"):
        client_for(connection).get_queue(str(queue_id))
    assert len(genesys.requests("/api/v2/routing/queues")) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_then_succeed(genesys, connection, queue_id, status):
    genesys.add_fault(path_prefix="/api/v2/routing/queues", status=status, times=2)
    assert client_for(connection).get_queue(str(queue_id))["name"] == QUEUE_NAME
    assert len(genesys.requests("/api/v2/routing/queues")) == 3


def test_5xx_gives_up_after_the_configured_attempts_with_a_clear_error(
    genesys, connection, queue_id
):
    genesys.add_fault(path_prefix="/api/v2/routing/queues", status=503, times=10)
    with pytest.raises(errors.GenesysUnavailable) as error:
        client_for(connection).get_queue(str(queue_id))
    assert "Genesys Cloud refused the queue lookup (503)" in str(error.value)
    assert "Check the Host (region)" in str(error.value)
    assert len(genesys.requests("/api/v2/routing/queues")) == 3


def test_500_is_not_retried(genesys, connection, queue_id):
    genesys.add_fault(path_prefix="/api/v2/routing/queues", status=500, times=10)
    with pytest.raises(errors.GenesysUnavailable):
        client_for(connection).get_queue(str(queue_id))
    assert len(genesys.requests("/api/v2/routing/queues")) == 1


def test_404_is_not_found_and_not_retried(genesys, connection):
    with pytest.raises(errors.GenesysNotFound) as error:
        client_for(connection).get_queue("3b0c4a52-0000-4000-8000-000000000000")
    assert error.value.status == 404
    assert error.value.context_id
    assert f"contextId {error.value.context_id}" in str(error.value)
    assert len(genesys.requests("/api/v2/routing/queues")) == 1


def test_timeouts_are_retried_and_then_reported(genesys, connection, queue_id, settings):
    settings.GENESYS_HTTP_READ_TIMEOUT = 0.3
    genesys.add_fault(path_prefix="/api/v2/routing/queues", delay_seconds=1.0, times=10)
    with pytest.raises(errors.GenesysUnavailable, match=r"did not answer within 0\.3 s"):
        client_for(connection).get_queue(str(queue_id))


def test_a_timeout_once_then_success(genesys, connection, queue_id, settings):
    settings.GENESYS_HTTP_READ_TIMEOUT = 0.3
    genesys.add_fault(path_prefix="/api/v2/routing/queues", delay_seconds=1.0, times=1)
    assert client_for(connection).get_queue(str(queue_id))["name"] == QUEUE_NAME


def test_403_names_the_missing_permission_and_the_fix(genesys, queue_id):
    genesys.put_client(
        "queue-only", client_secret=CLIENT_SECRET, permissions=["routing:queue:view"]
    )
    client = client_for(OAuth2ConnectionFactory(client_id="queue-only"))
    with pytest.raises(errors.GenesysPermissionError) as error:
        client.queue_observations(str(queue_id), media_type="chat", metrics=["oWaiting"])
    assert error.value.permission == "analytics:queueObservation:view"
    assert "Give the OAuth client a role with the permission analytics:queueObservation:view" in (
        str(error.value)
    )


def test_unreachable_genesys_is_reported(genesys, connection, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.GENESYS_API_BASE_URL = f"http://127.0.0.1:{port}"
    with pytest.raises(errors.GenesysUnavailable, match=f"127.0.0.1:{port} could not be reached"):
        tokens.access_token(connection, FRANKFURT)


def test_without_the_override_calls_go_to_the_region_hosts(settings):
    from genesys.platform import regions

    settings.GENESYS_API_BASE_URL = ""
    assert regions.token_url(FRANKFURT) == "https://login.mypurecloud.de/oauth/token"
    assert regions.api_base_url(FRANKFURT) == "https://api.mypurecloud.de"
    settings.GENESYS_API_BASE_URL = "http://127.0.0.1:8765/"
    assert regions.token_url(FRANKFURT) == "http://127.0.0.1:8765/oauth/token"
    assert regions.api_base_url(FRANKFURT) == "http://127.0.0.1:8765"


def test_no_secret_or_token_in_the_logs_of_failing_runs(genesys, connection, queue_id, caplog):
    caplog.set_level(logging.DEBUG)
    token = tokens.access_token(connection, FRANKFURT)
    client = client_for(connection)
    genesys.add_fault(path_prefix="/api/v2/routing/queues", status=503, times=10)
    with pytest.raises(errors.GenesysUnavailable) as unavailable:
        client.get_queue(str(queue_id))
    genesys.expire_tokens()
    wrong = OAuth2ConnectionFactory(client_id=CLIENT_ID, client_secret="wrong-" + CLIENT_SECRET)
    with pytest.raises(errors.GenesysCredentialsError) as refused:
        tokens.access_token(wrong, FRANKFURT)
    assert "Genesys GET /api/v2/routing/queues" in caplog.text
    for text in (caplog.text, str(unavailable.value), str(refused.value)):
        assert CLIENT_SECRET not in text
        assert token not in text


def test_tokens_are_encrypted_in_the_cache(genesys, connection):
    from django.core.cache import cache

    token = tokens.access_token(connection, FRANKFURT)
    cached = cache.get(tokens._cache_key(connection, FRANKFURT))
    assert cached
    assert token not in cached


def test_concurrent_callers_do_not_stampede_the_token_endpoint(genesys, connection):
    from concurrent.futures import ThreadPoolExecutor

    genesys.add_fault(path_prefix="/oauth/token", delay_seconds=0.3, times=1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: tokens.access_token(connection, FRANKFURT), range(8)))
    assert len(set(results)) == 1
    assert len(genesys.requests("/oauth/token")) == 1


def test_notification_channels_are_created_and_subscribed_through_the_client(genesys, connection):
    client = client_for(connection)

    channel = client.create_notification_channel()
    client.set_notification_topics(channel["id"], ["v2.conversations.c-1"])

    assert channel["connectUri"].startswith("ws")
    [put] = genesys.requests(f"/api/v2/notifications/channels/{channel['id']}/subscriptions")
    assert (put["method"], put["json"]) == ("PUT", [{"id": "v2.conversations.c-1"}])
