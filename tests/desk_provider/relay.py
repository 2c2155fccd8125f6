"""The Test Desk's relay listener: it polls the desk for the agent events of the open
handovers this replica owns (``endpoints.handovers.relay_ownership``).

The desk holds no connection open for us, so a poll is the whole job: claim this replica's
share, then read each owned conversation's events after the last one seen. A replica keeps
its cursors in memory; one that takes a handover over reads from the start, and the events
already recorded are recognised by their ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from endpoints.handovers import relay_ownership
from endpoints.handovers.relay_threads import BlockingPool
from endpoints.handovers.transports import TransportError
from endpoints.models import Handover, HandoverStatus
from tests.desk_provider import client
from tests.desk_provider.events import record_desk_event
from tests.desk_provider.transport import conversation_id, desk_of

logger = logging.getLogger("tests.desk_provider.relay")


class DeskRelay:
    def __init__(self, *, providers: tuple[str, ...], poll_seconds: float) -> None:
        self.providers = providers
        self.poll_seconds = poll_seconds
        self.token = relay_ownership.new_token()
        self.cursors: dict[int, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        pool = BlockingPool(1, name="desk-relay")
        try:
            while not stop.is_set():
                try:
                    await pool.run(self.poll)
                except Exception:
                    logger.exception("Desk relay %s: the poll failed", self.token[:8])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
            await pool.run(relay_ownership.stop, token=self.token)
        finally:
            pool.close()

    def poll(self) -> int:
        """One poll: this replica's share claimed, its conversations read; events recorded."""
        owned = relay_ownership.poll(token=self.token, providers=self.providers)
        self.cursors = {pk: seq for pk, seq in self.cursors.items() if pk in owned}
        handovers = Handover.objects.filter(
            pk__in=owned, status__in=[HandoverStatus.QUEUED, HandoverStatus.ACTIVE]
        ).select_related("endpoint__desk_settings")
        recorded = 0
        for handover in handovers:
            try:
                recorded += self._read(handover)
            except TransportError as error:  # this conversation now; the others go on
                logger.warning("Desk relay: handover %s not read: %s", handover.pk, error)
        return recorded

    def _read(self, handover: Handover) -> int:
        after = self.cursors.get(handover.pk, 0)
        answer = client.call(
            desk_of(handover),
            "GET",
            client.conversation_path(conversation_id(handover), "events"),
            what="the conversation's events",
            params={"after": after},
        )
        events = answer.get("events", [])
        for event in events:
            record_desk_event(handover.pk, event)
            self.cursors[handover.pk] = int(event["seq"])
        return len(events)
