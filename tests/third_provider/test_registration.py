"""Installing the Test Desk is one app and one ``HANDOVER_PROVIDERS`` line: the registry
then gives the project its every part (choices, inline, serializer, transport, URLs, relay
listener, beat entry), the system checks pass, and removing the line takes them all away."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from endpoints.providers import beat_schedule, get_provider, provider_choices, relay_listeners
from handover_portal.celery import app as celery_app
from tests.desk_provider.install import desk_installed
from tests.desk_provider.providers import RECONCILE_ENTRY, RECONCILE_TASK

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT = Path(__file__).resolve().parents[2]
DESK_RELAY = "tests.desk_provider.relay.DeskRelay"


def test_every_part_of_the_desk_comes_from_its_provider_class(desk_provider):
    provider = get_provider("desk")
    assert ("desk", "Test Desk") in provider_choices()
    assert provider.app_label() == "desk_provider"
    assert provider.get_settings_accessor() == "desk_settings"
    assert type(provider.get_transport()).__name__ == "DeskTransport"
    assert relay_listeners()[DESK_RELAY] == ("desk",)
    assert beat_schedule()[RECONCILE_ENTRY]["task"] == RECONCILE_TASK
    assert RECONCILE_TASK in celery_app.tasks
    url = reverse("desk_provider:events", args=["0f4e6f4c-6a1e-4f3c-9a8d-3d2b7e5c1a90"])
    assert url.startswith("/desk_provider/")  # its app's label: it sets no url_prefix
    assert resolve(url).url_name == "events"


def test_the_system_checks_pass_with_the_desk_installed(desk_provider):
    call_command("check", fail_level="WARNING")  # raises SystemCheckError otherwise


def test_removing_the_line_takes_every_part_away(transactional_db):
    with desk_installed():
        url = reverse("desk_provider:events", args=["0f4e6f4c-6a1e-4f3c-9a8d-3d2b7e5c1a90"])
    assert "desk" not in dict(provider_choices())
    assert DESK_RELAY not in relay_listeners()
    assert RECONCILE_ENTRY not in beat_schedule()
    with pytest.raises(NoReverseMatch):
        reverse("desk_provider:events", args=["0f4e6f4c-6a1e-4f3c-9a8d-3d2b7e5c1a90"])
    with pytest.raises(Resolver404):
        resolve(url)  # the webhook is mounted no more


def test_no_project_file_names_the_desk():
    wiring = [*(PROJECT / "handover_portal").glob("*.py"), PROJECT / "Procfile"]
    wiring += [PROJECT / "Procfile.dev", *(PROJECT / "endpoints").rglob("*.py")]
    naming = [p.relative_to(PROJECT) for p in wiring if "desk_provider" in p.read_text()]
    assert wiring
    assert naming == []
