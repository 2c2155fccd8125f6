"""The Genesys relay: one asyncio loop holding the event stream of every open Genesys web chat
handover, and one Notifications API channel per OAuth connection for the open Open Messaging
handovers (``genesys.notifications``: agents joining and leaving, the end of the conversation).

Every ``poll_seconds`` it reads which handovers are open and starts or stops their streams;
each agent event is recorded once (the database deduplicates by Genesys message id) and its
callback delivery handed to Celery. ``genesys_relay`` runs it until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from endpoints.fields import SecretUnreadable
from endpoints.models import Handover, HandoverStatus
from endpoints.relay_threads import BlockingPool
from genesys.event_stream import StreamSupervisor
from genesys.notifications import NotificationsSupervisor
from genesys.om_transport import end_abandoned, record_participants, watched_conversations
from genesys.regions import Region
from genesys.transport import record_stream_event, session_of
from genesys.webchat import WebChatSession

logger = logging.getLogger("genesys.relay")

Wanted = dict[str, tuple[Region, WebChatSession]]

#: A handover that cannot be read is logged again at most this often, while it stays so.
SKIPPED_LOG_SECONDS = 600.0


class SkippedRows:
    """Handovers the relay skipped because their rows cannot be read (a secret no key
    decrypts, settings gone): logged by handover id, never with the secret, at most once
    every ``SKIPPED_LOG_SECONDS`` each, so one bad row neither stops the relay nor floods
    its log."""

    def __init__(self) -> None:
        self._logged: dict[int, float] = {}

    def __call__(self, handover_id: int, error: Exception) -> None:
        now = time.monotonic()
        if now - self._logged.get(handover_id, -SKIPPED_LOG_SECONDS) < SKIPPED_LOG_SECONDS:
            return
        self._logged[handover_id] = now
        # A SecretUnreadable or DoesNotExist message names the row and field, never a value.
        safe = isinstance(error, SecretUnreadable | ObjectDoesNotExist)
        logger.error(
            "Genesys relay: handover %s skipped, its row cannot be read: %s",
            handover_id, error if safe else type(error).__name__,
        )  # fmt: skip


def wanted_streams(
    known: dict[int, tuple[Region, WebChatSession]],
    on_error: Callable[[int, Exception], None] | None = None,
) -> Wanted:
    """The conversations to hold now; ``known`` caches sessions between calls.

    A handover whose row cannot be read is skipped (``on_error``) and tried again next time.
    """
    on_error = on_error or SkippedRows()
    open_ids = set(
        Handover.objects.filter(
            status__in=[HandoverStatus.QUEUED, HandoverStatus.ACTIVE],
            genesys_webchat__isnull=False,
        ).values_list("pk", flat=True)
    )
    for gone in set(known) - open_ids:
        del known[gone]
    new = (
        Handover.objects.filter(pk__in=open_ids - set(known))
        .select_related("genesys_webchat", "endpoint__genesys_settings")
        .iterator()
    )
    for handover in new:
        try:
            known[handover.pk] = (
                handover.endpoint.genesys_settings.region,
                session_of(handover.genesys_webchat),
            )
        except Exception as error:
            on_error(handover.pk, error)
    return {str(pk): value for pk, value in known.items()}


class GenesysRelay:
    """The relay loop; ``run(stop)`` holds streams and channels until ``stop`` is set.

    Blocking work runs off the event loop on two pools: the poll (which handovers to hold)
    on a thread of its own, so it keeps time however busy the rest is; events' recording and
    the Notifications API's ``requests`` calls on ``threads`` threads (``RELAY_THREADS``), so
    one slow Genesys answer delays no other conversation.
    """

    def __init__(self, *, poll_seconds: float, threads: int | None = None) -> None:
        self.poll_seconds = poll_seconds
        self.threads = settings.RELAY_THREADS if threads is None else threads

    async def run(self, stop: asyncio.Event) -> None:
        known: dict[int, tuple[Region, WebChatSession]] = {}
        skipped = SkippedRows()
        pool = BlockingPool(self.threads, name="relay")
        poll = BlockingPool(1, name="relay-poll")

        async def handle(key: str, event: object) -> None:
            await pool.run(record_stream_event, int(key), event)

        notifications = NotificationsSupervisor(
            functools.partial(pool.run, record_participants),
            functools.partial(pool.run, end_abandoned),
            blocking=pool.run,
            grace_seconds=settings.GENESYS_TRANSFER_GRACE_SECONDS,
            heartbeat_timeout=settings.GENESYS_NOTIFICATIONS_HEARTBEAT_TIMEOUT,
        )
        try:
            async with StreamSupervisor(
                handle,
                heartbeat_timeout=settings.GENESYS_STREAM_HEARTBEAT_TIMEOUT,
                poll_seconds=settings.GENESYS_STREAM_POLL_SECONDS,
            ) as supervisor:
                try:
                    while not stop.is_set():
                        try:
                            await supervisor.sync(await poll.run(wanted_streams, known, skipped))
                        except Exception:
                            logger.exception(
                                "Genesys relay: could not refresh the handovers to hold"
                            )
                        try:
                            wanted = await poll.run(watched_conversations, skipped)
                            await notifications.sync(wanted)
                        except Exception:
                            logger.exception("Genesys relay: could not refresh the notifications")
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
                finally:
                    await notifications.close()
        finally:
            poll.close()
            pool.close()
