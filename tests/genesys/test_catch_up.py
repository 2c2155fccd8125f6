"""An Open Messaging channel's catch-up (``genesys.open_messaging.notifications``): the
conversations it has just subscribed to read beside its receive loop, with the relay in
this process against the sandbox."""

from __future__ import annotations

import pytest

from endpoints.models import EventKind, HandoverEvent
from genesys.relay import GenesysRelay
from tests.e2e.conftest import wait_for
from tests.genesys.test_channel_lifetime import open_handovers
from tests.genesys.test_relay import running

pytestmark = pytest.mark.django_db(transaction=True)


def test_catching_up_on_many_conversations_does_not_hold_up_the_channels_frames(
    genesys, connection
):
    """After subscribing, the channel reads every new conversation (what happened before):
    beside its receive loop, a few at a time. An agent joining the conversation read last
    is recorded from its frame while the reads go on (they ran one after another inside
    the loop, no frame read until the last), and once only when its read comes after."""
    count = 120
    conversation_ids = open_handovers(genesys, connection, count)
    last = sorted(conversation_ids)[-1]  # the catch-up reads in order: this one last
    reads = "/api/v2/conversations/messages/"
    genesys.add_fault(reads, method="GET", delay_seconds=0.1, for_seconds=120)
    joined = HandoverEvent.objects.filter(
        handover__genesys_om__conversation_id=last, kind=EventKind.AGENT_JOINED
    )

    with running(GenesysRelay(poll_seconds=0.5, threads=8)):
        wait_for(lambda: genesys.request_count(reads, "GET"), what="the catch-up's first read")
        genesys.om_agent_join(last, "Alex Agent")
        wait_for(joined.exists, what="the agent's join", timeout=60)
        reads_by_then = genesys.request_count(reads, "GET")
        wait_for(
            lambda: genesys.request_count(reads, "GET") >= count,
            what="every conversation read",
            timeout=60,
        )

    assert reads_by_then < count
    assert joined.count() == 1
    assert HandoverEvent.objects.count() == 1  # nothing else happened in the others
