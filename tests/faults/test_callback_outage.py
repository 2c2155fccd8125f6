"""Scenario 6: the channel's callback receiver down. Down for a while (503, then not even
listening): once it is back it gets every event, in order, once. Down for good: the event
is given up after the configured window (``CALLBACK_MAX_ATTEMPTS`` with its backoff),
recorded on the event (delivery failed) and shown on the handover's admin page."""

from __future__ import annotations

import html
import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from endpoints.models import HandoverEvent
from tests.e2e.conftest import wait_for
from tests.factories import UserFactory
from tests.faults.helpers import (
    channel_texts,
    delivery_problems,
    poll,
    start_handovers,
    webchat_endpoint,
    webchat_ids,
)
from tests.faults.sizes import SIZE
from tests.sandbox import free_port

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
SCENARIO = 6  # its number in the README's table and the figures


def give_up_window(attempts: int, base: float, cap: float) -> tuple[float, float]:
    """The shortest and longest time from the first attempt to the last (jittered waits)."""
    ceilings = [min(cap, base * 2 ** (n - 1)) for n in range(1, attempts)]
    return sum(ceilings) / 2, sum(ceilings)


def test_callbacks_survive_an_outage_and_are_given_up_after_the_window(
    faults, sandbox, settings, channel, figures
):
    # Down for a while: 503 for half the outage, then nothing listening.
    endpoint = webchat_endpoint(sandbox, callback_url=channel.url)
    [handover] = start_handovers(endpoint, 1)
    cid = webchat_ids([handover], faults)[handover.pk]
    sandbox.agent_join(cid, name="Alex Agent")
    wait_for(lambda: channel.events(), what="agent_joined at the channel", stack=faults)
    half = SIZE.callback_outage_seconds / 2
    sent: dict[int, list[str]] = {handover.pk: []}

    def agent_sends(count: int) -> None:
        for _ in range(count):
            text = f"while the channel is down {len(sent[handover.pk]):03}"
            sandbox.agent_send(cid, text)
            sent[handover.pk].append(text)

    channel.fail_for(half)
    agent_sends(SIZE.callback_messages // 2)
    time.sleep(max(0.0, channel.fail_until - time.monotonic()))
    channel.go_down()
    agent_sends(SIZE.callback_messages - SIZE.callback_messages // 2)
    time.sleep(half)
    channel.come_back()
    back = time.monotonic()
    delivered = poll(
        lambda: len(channel_texts(channel, handover)) >= len(sent[handover.pk]), timeout=30
    )
    catch_up_seconds = time.monotonic() - back
    time.sleep(1)  # a late duplicate lands now
    received = {handover.pk: channel_texts(channel, handover)}
    kinds = [event["kind"] for event in channel.events()]

    # Down for good: nothing ever listens at its callback URL.
    lost_endpoint = webchat_endpoint(sandbox, callback_url=f"http://127.0.0.1:{free_port()}/cb")
    [lost] = start_handovers(lost_endpoint, 1)
    lost_cid = webchat_ids([lost], faults)[lost.pk]
    sandbox.agent_join(lost_cid, name="Alex Agent")
    joined = wait_for(
        lambda: HandoverEvent.objects.filter(handover=lost, kind="agent_joined").first(),
        what="agent_joined recorded",
        stack=faults,
    )
    shortest, longest = give_up_window(
        settings.CALLBACK_MAX_ATTEMPTS,
        settings.CALLBACK_BACKOFF_SECONDS,
        settings.CALLBACK_BACKOFF_MAX_SECONDS,
    )
    gave_up = poll(
        lambda: HandoverEvent.objects.filter(pk=joined.pk, delivery="failed").exists(),
        timeout=longest + 15,
    )
    given_up_after = (timezone.now() - joined.created_at).total_seconds()
    joined.refresh_from_db()
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin.get(reverse("admin:endpoints_handover_change", args=[lost.pk]))
    text = page.content.decode()
    shown = bool(joined.delivery_error) and html.escape(joined.delivery_error) in text
    shown = shown or bool(re.search(r"callback[^<]{0,60}fail|fail[^<]{0,60}callback", text, re.I))

    figures.compare(sent, received)
    figures["catch_up_seconds"] = catch_up_seconds
    figures["channel_attempts"] = channel.attempts
    figures["give_up_window"] = f"{shortest:.1f}-{longest:.1f} s"
    figures["given_up_after_attempts"] = joined.delivery_attempts
    figures["given_up_after_seconds"] = given_up_after if gave_up else None
    figures["admin_status"] = page.status_code
    figures["admin_shows_failure"] = shown

    problems = [] if delivered else ["the events of the outage did not reach the channel in 30 s"]
    problems += delivery_problems(sent, received, where="at the channel")
    if kinds != ["agent_joined", *["agent_message"] * len(sent[handover.pk])]:
        problems.append(f"the channel got these kinds, in this order: {kinds}")
    if not gave_up:
        problems.append(
            f"an event for a channel that stays down was not given up within {longest + 15:.0f} s"
            f" (delivery {joined.delivery}, {joined.delivery_attempts} attempts)"
        )
    elif given_up_after < shortest:
        problems.append(
            f"given up after {given_up_after:.1f} s, before the window ({shortest:.1f} s)"
        )
    elif joined.delivery_attempts != settings.CALLBACK_MAX_ATTEMPTS or not joined.delivery_error:
        problems.append(
            f"given up after {joined.delivery_attempts} attempts with error "
            f"{joined.delivery_error!r} (want {settings.CALLBACK_MAX_ATTEMPTS} and a reason)"
        )
    if page.status_code != 200 or not shown:
        problems.append(
            f"the handover's admin page ({page.status_code}) does not show the failed callback "
            f"delivery ({joined.delivery_error!r})"
        )
    assert not problems, "\n".join(problems)
