"""`seed_demo`: the endpoint a new user tries `make run` with, working against the sandbox."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from endpoints.models import Endpoint

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_endpoint_is_created_once_and_its_test_connection_shows_figures(
    admin_client, sandbox, settings
):
    settings.GENESYS_API_BASE_URL = sandbox.url
    cache.clear()
    assert "Created the demo endpoint “Demo Webchat”" in seed()
    assert "exists" in seed()
    endpoint = Endpoint.objects.get()
    assert endpoint.handover_refusal() is None
    response = admin_client.post(
        reverse("admin:endpoints_endpoint_test_connection", args=[endpoint.pk]), follow=True
    )
    report = " ".join(str(message) for message in response.context["messages"])
    assert "Queue “Sandbox Support Queue” found." in report
    assert "Agent availability: available: 2 agents on queue, 1 idle" in report


def test_no_demo_data_against_a_real_genesys(settings):
    settings.GENESYS_API_BASE_URL = ""
    assert "no demo data" in seed()
    assert not Endpoint.objects.exists()


def test_the_demo_is_ready_to_switch_to_open_messaging(sandbox, settings, tmp_path, monkeypatch):
    """seed_demo prepares Open Messaging settings and tells the sandbox where to call."""
    import json
    import subprocess
    import sys
    import time

    import requests

    from genesys.management.commands import seed_demo
    from genesys.models import OpenMessagingSettings
    from tests.sandbox import free_port

    settings.GENESYS_API_BASE_URL = sandbox.url
    config = tmp_path / "integration.json"
    monkeypatch.setattr(seed_demo, "SANDBOX_INTEGRATION_FILE", config)
    call_command("seed_demo", "--base-url", "http://127.0.0.1:8000", stdout=StringIO())
    om = OpenMessagingSettings.objects.get()
    assert om.endpoint.name == "Demo Webchat"
    assert om.endpoint.handover_provider == "genesys"  # Open Messaging waits, inactive
    written = json.loads(config.read_text())
    assert written["webhook_url"] == f"http://127.0.0.1:8000{om.webhook_path()}"
    assert written["webhook_secret"] == om.webhook_secret
    assert oct(config.stat().st_mode & 0o777) == "0o600"

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "genesys_sandbox", "--port", str(port),
         "--open-integration", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/sandbox/open-messaging/integrations/{om.integration_id}"
        deadline = time.monotonic() + 20
        while True:
            try:
                integration = requests.get(url, timeout=1).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert integration["webhook_url"] == written["webhook_url"]
        assert integration["has_webhook_secret"] is True
    finally:
        process.terminate()
        process.wait(timeout=10)
