"""The Test Desk's periodic task: in the beat schedule from the registry, and ending the
handovers whose desk conversation ended while no relay listener heard it."""

from __future__ import annotations

import pytest

from endpoints.handovers.services import handover_start
from endpoints.models import Handover
from endpoints.providers import beat_schedule
from handover_portal.celery import app as celery_app
from tests.desk_provider.providers import RECONCILE_ENTRY, RECONCILE_TASK

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_beat_runs_it_and_it_ends_what_the_desk_ended(
    world, desk, broker, settings, django_capture_on_commit_callbacks
):
    settings.DESK_RECONCILE_SECONDS = 42.0
    assert beat_schedule()[RECONCILE_ENTRY] == {"task": RECONCILE_TASK, "schedule": 42.0}
    ids = []
    for session in ("s-1", "s-2"):
        with django_capture_on_commit_callbacks(execute=True):
            handover, _ = handover_start(endpoint=world.endpoint, user_id="u", session_id=session)
        ids.append(handover.pk)
    broker.run(django_capture_on_commit_callbacks)
    ended, still_open = Handover.objects.filter(pk__in=ids).order_by("pk")
    desk.agent_end(str(ended.public_id))

    result = celery_app.tasks[RECONCILE_TASK].apply()

    assert result.get() == 1
    ended.refresh_from_db()
    still_open.refresh_from_db()
    assert (ended.status, ended.end_reason) == ("ended", "agent_left")
    assert still_open.status == "queued"
    assert desk.received("POST", "end") == []
