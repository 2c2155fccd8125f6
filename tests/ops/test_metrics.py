"""/metrics: parses as Prometheus text, moves when a handover runs, refuses strangers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from endpoints.handovers.outbox import outbox_send
from endpoints.handovers.services import handover_end, handover_start
from genesys.platform import tokens
from genesys.platform.regions import get_region
from tests.conftest import CLIENT_ID
from tests.factories import (
    GenesysSettingsFactory,
    HandoverEventFactory,
    HandoverFactory,
    OAuth2ConnectionFactory,
    OutboundMessageFactory,
)

pytestmark = pytest.mark.django_db

FRANKFURT = get_region("mypurecloud.de")
TOKEN = "a-metrics-token-for-tests-0123456789"


def scrape(client: Client | None = None, **headers: str) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_output_parses_and_holds_every_family():
    HandoverFactory()
    names = {name for name, _ in scrape()}

    for expected in (
        "handover_portal_handovers",
        "handover_portal_outbox_messages",
        "handover_portal_outbox_oldest_unsent_age_seconds",
        "handover_portal_callback_events",
        "handover_portal_relay_replicas_alive",
        "handover_portal_relay_handovers_held",
    ):
        assert expected in names


def test_counters_move_when_a_handover_runs(genesys, settings):
    settings.RELAY_BACKOFF_SECONDS = 0.01
    endpoint = GenesysSettingsFactory(
        organization_id=genesys.organization_id,
        deployment_id=genesys.deployment_id,
        queue_id=genesys.queue_id,
        queue_name=genesys.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    ).endpoint
    before = scrape()

    handover, _ = handover_start(endpoint=endpoint, user_id="u", session_id="s")
    during = scrape()
    assert value(during, "handover_portal_outbox_messages", status="pending") == 1
    for _ in range(10):
        if outbox_send(handover.pk) is None:
            break
    handover.refresh_from_db()
    assert handover.status == "queued"
    after = scrape()

    provider = handover.provider
    assert value(during, "handover_portal_handovers", provider=provider, status="starting") == 1
    assert value(after, "handover_portal_handovers", provider=provider, status="queued") == 1
    assert value(after, "handover_portal_outbox_messages", status="pending") == 0
    calls = "handover_portal_genesys_requests_total"
    assert value(after, calls, method="POST", status="200") > value(
        before, calls, method="POST", status="200"
    )
    latency = "handover_portal_genesys_request_duration_seconds_count"
    assert value(after, latency, method="POST") > value(before, latency, method="POST")

    handover_end(handover_id=handover.pk, reason="user_ended", disconnect=False)
    ended = scrape()
    assert (
        value(ended, "handover_portal_handovers_ended", provider=provider, reason="user_ended") == 1
    )


def test_token_requests_are_counted(connection):
    before = scrape()
    tokens.access_token(connection, FRANKFURT)
    tokens.access_token(connection, FRANKFURT)  # cached: no second request
    after = scrape()

    name = "handover_portal_genesys_token_requests_total"
    assert value(after, name, outcome="ok") - value(before, name, outcome="ok") == 1


def test_outbox_depth_age_and_callback_failures():
    handover = HandoverFactory()
    OutboundMessageFactory(handover=handover, status="pending")
    OutboundMessageFactory(handover=handover, status="failed")
    HandoverEventFactory(handover=handover, delivery="failed")
    HandoverEventFactory(handover=handover, delivery="delivered")

    samples = scrape()

    assert value(samples, "handover_portal_outbox_messages", status="pending") == 1
    assert value(samples, "handover_portal_outbox_messages", status="failed") == 1
    assert value(samples, "handover_portal_outbox_oldest_unsent_age_seconds") >= 0
    assert value(samples, "handover_portal_callback_events", delivery="failed") == 1
    assert value(samples, "handover_portal_callback_events", delivery="delivered") == 1


def test_the_collector_makes_the_same_queries_however_many_handovers():
    def queries() -> int:
        with CaptureQueriesContext(db_connection) as captured:
            scrape()
        return len(captured)

    HandoverFactory()
    few = queries()
    for _ in range(5):
        handover = HandoverFactory(status="ended", end_reason="expired")
        OutboundMessageFactory(handover=handover)
        HandoverEventFactory(handover=handover)
    assert queries() == few


def test_a_token_is_required_when_set(settings):
    settings.METRICS_BEARER_TOKEN = TOKEN

    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics")["WWW-Authenticate"].startswith("Bearer")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    assert TOKEN not in wrong.content.decode()
    assert scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def test_without_a_token_only_loopback_and_listed_networks(settings):
    settings.METRICS_BEARER_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert scrape(REMOTE_ADDR="127.0.0.1")
    assert scrape(REMOTE_ADDR="10.4.5.6")
    assert Client().get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    # Behind one trusted proxy, the proxy's own loopback address is not the client's.
    settings.TRUSTED_PROXY_COUNT = 1
    forwarded = Client().get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert forwarded.status_code == 403


def test_a_bad_allowed_network_stops_the_app(settings):
    from ops.checks import check_metrics_networks

    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "intranet"]

    [error] = check_metrics_networks()
    assert error.id == "ops.E001"
    assert "'intranet'" in error.msg


def test_multiprocess_mode_sums_every_process(tmp_path, monkeypatch):
    count_two_token_requests = (
        "from ops.instruments import TOKEN_REQUESTS\nTOKEN_REQUESTS.labels(outcome='ok').inc(2)\n"
    )
    for _worker in range(2):
        subprocess.run(
            [sys.executable, "-c", count_two_token_requests],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
            check=True,
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    samples = scrape()

    assert value(samples, "handover_portal_genesys_token_requests_total", outcome="ok") == 4
