"""``relay --metrics-port``: the relay's own counters, on a port of its own."""

from __future__ import annotations

import io
import re

import pytest
import requests
from django.core.management import call_command
from prometheus_client.parser import text_string_to_metric_families

from endpoints.management.commands.relay import Command


@pytest.mark.parametrize("command", ["relay", "genesys_relay"])
def test_the_relay_serves_its_metrics_on_loopback(monkeypatch, command):
    async def no_relay(self, relay):  # the relay loop itself is tested elsewhere
        return None

    monkeypatch.setattr(Command, "relay", no_relay)
    out = io.StringIO()

    call_command(command, "--metrics-port", "0", stdout=out)

    [url] = re.findall(r"metrics on (http://127\.0\.0\.1:\d+/)", out.getvalue())
    text = requests.get(url, timeout=5).text
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "handover_portal_relay_stream_reconnects" in names
    assert "handover_portal_genesys_requests" in names
