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
