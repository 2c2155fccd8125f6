"""Scenario 8: ending, under two faults.

- A user message being written while the expiry runs keeps its handover open: the expiry
  skips the row the message's transaction holds (``SKIP LOCKED``) instead of waiting for it,
  and once the message has committed the handover is no longer due. Timed with two
  PostgreSQL connections of this process: the message's transaction holds the row lock
  (and the endpoint's) while the expiry, on its own connection, runs.
- ``DELETE /api/v1/handovers/{id}/`` while the broker is down answers 200, and the Genesys
  participant is disconnected once the broker is back.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.db import connection, transaction
from django.utils import timezone

from endpoints.handovers.expiry import ExpiryReport, handovers_expire
from endpoints.handovers.services import handover_message_add, lock_handover
from endpoints.models import Handover
from tests.faults.helpers import (
    RuntimeApi,
    outbox_statuses,
    poll,
    start_handovers,
    webchat_endpoint,
    webchat_ids,
)
from tests.faults.sizes import RESUME_SECONDS, SIZE

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SCENARIO = 8  # its number in the README's table and the figures


@pytest.mark.postgresql("the race needs row locks (SQLite locks the whole database)")
def test_ending_keeps_a_handover_written_to_meanwhile_and_survives_a_broker_outage(
    faults, sandbox, figures
):
    endpoint = webchat_endpoint(sandbox)
    # The race: expired a second ago, written to while the expiry runs.
    [racing] = start_handovers(endpoint, 1)
    webchat_ids([racing], faults)
    past = timezone.now() - timedelta(seconds=1)
    Handover.objects.filter(pk=racing.pk).update(expires_at=past, warn_at=None)
    expiry: dict[str, Any] = {}
    with transaction.atomic():
        lock_handover(racing.pk)  # the message's transaction, holding the row
        thread = threading.Thread(target=_expire, args=(expiry,), daemon=True)
        thread.start()
        poll(
            lambda: not thread.is_alive() or _waits_for_a_lock(expiry.get("pid")),
            timeout=10,
            interval=0.05,
        )
        waiting = thread.is_alive()  # still running: it waits for the message's lock
        handover_message_add(handover=racing, text="still here", client_message_id="race")
    thread.join(timeout=15)
    report: ExpiryReport | None = expiry.get("report")
    again = handovers_expire()  # the message reset the idle clock: no longer due
    racing.refresh_from_db()

    # The end while the broker is down.
    api = RuntimeApi(faults.web_url)
    response = api.start(endpoint, "ending-session")
    assert response.status_code == 201, response.text
    ending = Handover.objects.get(public_id=response.json()["id"])
    cid = webchat_ids([ending], faults)[ending.pk]
    with faults.broker_outage():
        try:
            end_status: int | str = api.end(ending.public_id).status_code
        except requests.RequestException as error:
            end_status = type(error).__name__
        time.sleep(SIZE.end_outage_seconds)
    back = time.monotonic()
    disconnected = poll(
        lambda: sandbox.conversation(cid)["customer"]["state"] == "DISCONNECTED",
        timeout=RESUME_SECONDS,
        interval=0.5,
    )
    ending.refresh_from_db()

    figures["expiry_waited_for_the_lock"] = waiting
    figures["expiry_report"] = report
    figures["expiry_report_after_the_message"] = again
    figures["racing_status"] = racing.status
    figures["racing_outbox"] = outbox_statuses([racing.pk])
    figures["end_status_while_broker_down"] = end_status
    figures["ended_in_database"] = ending.status == "ended"
    figures["disconnect_seconds"] = (time.monotonic() - back) if disconnected else None

    problems = [f"the expiry thread failed: {expiry['error']!r}"] if "error" in expiry else []
    if waiting:
        problems.append("the expiry waited for the row lock the message held (want it skipped)")
    if thread.is_alive():
        problems.append("the expiry is still waiting for the row lock after the message")
    if racing.status == "ended":
        problems.append(
            f"a handover written to between the expiry's listing and its lock was ended "
            f"({racing.end_reason}); its message: {outbox_statuses([racing.pk])}"
        )
    if end_status != 200:
        problems.append(f"DELETE while the broker was down answered {end_status} (want 200)")
    if ending.status != "ended":
        problems.append(f"the handover ended with the broker down is {ending.status}")
    if not disconnected:
        problems.append(
            f"the Genesys guest was not disconnected within {RESUME_SECONDS:g} s of the broker "
            "coming back"
        )
    assert not problems, "\n".join(problems)


def _expire(result: dict[str, Any]) -> None:
    """The expiry, on this thread's own database connection."""
    try:
        connection.ensure_connection()
        result["pid"] = connection.connection.info.backend_pid
        result["report"] = handovers_expire()
    except BaseException as error:
        result["error"] = error
    finally:
        connection.close()


def _waits_for_a_lock(pid: int | None) -> bool:
    if pid is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"
