"""/health/live and /health/ready: what they check, their status codes, their reach."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from endpoints.models import RelayReplica
from handover_portal.celery import app


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch, closed_port):
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{closed_port}/0")


@pytest.mark.django_db
def test_ready_when_everything_answers():
    response = Client().get("/health/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "broker": "ok",
        "cache": "ok",
        "relay": "none",
    }
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_ready_is_503_when_the_broker_is_down_and_live_stays_200(broker_down):
    ready = Client().get("/health/ready")

    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["broker"]["status"] == "error"
    assert ready.json()["checks"]["database"]["status"] == "ok"
    live = Client().get("/health/live")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}


def test_live_touches_no_database():
    # No django_db mark: any query would fail the test.
    assert Client().get("/health/live").status_code == 200


@pytest.mark.django_db
def test_a_stale_relay_is_reported_without_failing_readiness(settings):
    settings.RELAY_OWNERSHIP_LEASE_SECONDS = 15
    RelayReplica.objects.create(
        token="a" * 32, providers="genesys", heartbeat_at=timezone.now() - timedelta(minutes=5)
    )

    response = Client().get("/health/ready")

    assert response.status_code == 200
    relay = response.json()["checks"]["relay"]
    assert relay["status"] == "stale"
    assert 299 < relay["age_seconds"] < 330


@pytest.mark.django_db
def test_probes_skip_the_https_redirect_and_the_host_check(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    client = Client(HTTP_HOST="10.1.2.3:8000")

    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200
    assert client.get("/admin/login/").status_code == 400  # everything else still checked


@pytest.mark.django_db
def test_a_failing_probe_is_not_logged(broker_down, caplog):
    with caplog.at_level("WARNING", logger="django.request"):
        assert Client().get("/health/ready").status_code == 503
    assert not [record for record in caplog.records if record.name == "django.request"]


def test_probes_answer_get_only():
    assert Client().post("/health/live").status_code == 405
