"""The Genesys relay: one asyncio loop holding the event stream of every open Genesys web chat
handover it owns, and Notifications API channels per OAuth connection for the open Open
Messaging handovers it owns (``genesys.open_messaging.channel_pool``: 1,000 conversations a
channel; agents joining and leaving, the end of the conversation).

Every ``poll_seconds`` it asks ``endpoints.handovers.relay_ownership`` which handovers it owns (its
share, when several replicas run) and starts or stops their streams and topics; each agent
event is recorded once (the database deduplicates by Genesys message id) and its callback
delivery handed to Celery. The ``relay`` command runs it (``GenesysProvider.relay_listener``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Collection

import aiohttp
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist

from endpoints.fields import SecretUnreadable
from endpoints.handovers import relay_ownership
from endpoints.handovers.relay_threads import BlockingPool
from endpoints.models import Handover, HandoverStatus
from genesys.models import OAuth2Connection
from genesys.open_messaging.channel_pool import NotificationsSupervisor
from genesys.open_messaging.transport import (
    end_abandoned,
    record_participants,
    watched_conversations,
)
from genesys.platform.regions import Region
from genesys.providers import GenesysCloudProvider, GenesysOpenMessagingProvider
from genesys.webchat.client import WebChatSession
from genesys.webchat.event_stream import READ_CONNECTIONS, StreamSupervisor
from genesys.webchat.transport import record_stream_event, session_of

logger = logging.getLogger("genesys.relay")

Wanted = dict[str, tuple[Region, WebChatSession]]
Channels = dict[tuple[int, str], tuple[Region, OAuth2Connection, set[str]]]

#: The providers whose open handovers this relay holds (and divides between its replicas),
#: unless told otherwise (the ``relay`` command passes the ones naming it).
PROVIDERS = (GenesysCloudProvider.id, GenesysOpenMessagingProvider.id)

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
    handover_ids: Collection[int] | None = None,
    on_error: Callable[[int, Exception], None] | None = None,
) -> Wanted:
    """The conversations to hold now (of ``handover_ids``, the ones this replica owns, when
    given); ``known`` caches sessions between calls.

    A handover whose row cannot be read is skipped (``on_error``) and tried again next time.
    """
    on_error = on_error or SkippedRows()
    open_handovers = Handover.objects.filter(
        status__in=[HandoverStatus.QUEUED, HandoverStatus.ACTIVE],
        genesys_webchat__isnull=False,
    )
    if handover_ids is not None:
        open_handovers = open_handovers.filter(pk__in=handover_ids)
    open_ids = set(open_handovers.values_list("pk", flat=True))
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

    Each poll asks ``endpoints.handovers.relay_ownership`` which handovers this replica owns (its
    fair share of the open Genesys handovers) and holds streams and notification topics for
    those only; replicas of the relay so divide the work. A replica that could not poll for
    a whole lease lets everything go (another replica has taken it over by then); on a clean
    stop it releases its handovers at once.

    Blocking work runs off the event loop on two pools: the poll on a thread of its own, so
    it keeps time however busy the rest is; events' recording and the Notifications API's
    ``requests`` calls on ``threads`` threads (``RELAY_THREADS``), so one slow Genesys answer
    delays no other conversation.
    """

    def __init__(
        self,
        *,
        poll_seconds: float,
        providers: tuple[str, ...] = PROVIDERS,
        threads: int | None = None,
        token: str | None = None,
    ) -> None:
        self.poll_seconds = poll_seconds
        self.providers = providers
        self.threads = settings.RELAY_THREADS if threads is None else threads
        self.token = token or relay_ownership.new_token()
        self._known: dict[int, tuple[Region, WebChatSession]] = {}
        self._skipped = SkippedRows()
        self._owned: set[int] = set()

    def poll(self) -> tuple[Wanted, Channels]:
        """The streams and notification channels of the handovers this replica owns now."""
        owned = relay_ownership.poll(token=self.token, providers=self.providers)
        if owned != self._owned:
            logger.info(
                "Genesys relay %s: owns %s handovers (%s claimed, %s let go)",
                self.token[:8], len(owned), len(owned - self._owned), len(self._owned - owned),
            )  # fmt: skip
            self._owned = owned
        streams = wanted_streams(self._known, owned, self._skipped)
        return streams, watched_conversations(owned, self._skipped)

    async def run(self, stop: asyncio.Event) -> None:
        pool = BlockingPool(self.threads, name="relay")
        poll_thread = BlockingPool(1, name="relay-poll")

        async def handle(key: str, event: object) -> None:
            await pool.run(record_stream_event, int(key), event)

        notifications = NotificationsSupervisor(
            functools.partial(pool.run, record_participants),
            functools.partial(pool.run, end_abandoned),
            blocking=pool.run,
            grace_seconds=settings.GENESYS_TRANSFER_GRACE_SECONDS,
            heartbeat_timeout=settings.GENESYS_NOTIFICATIONS_HEARTBEAT_TIMEOUT,
            max_channels=settings.GENESYS_NOTIFICATIONS_MAX_CHANNELS,
            lifetime_seconds=settings.GENESYS_NOTIFICATIONS_CHANNEL_LIFETIME_SECONDS,
            # Half the threads at most, so that frames are recorded while catch-ups read.
            catch_up_concurrency=max(1, self.threads // 2),
        )
        logger.info("Genesys relay %s: started", self.token[:8])
        # The WebSockets apart from the member and history reads: each open stream holds a
        # connection, so reads sharing their limit would wait behind them.
        streams_http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.GENESYS_STREAM_CONNECTION_LIMIT)
        )
        reads_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=READ_CONNECTIONS))
        try:
            async with StreamSupervisor(
                handle,
                http=streams_http,
                reads=reads_http,
                heartbeat_timeout=settings.GENESYS_STREAM_HEARTBEAT_TIMEOUT,
                poll_seconds=settings.GENESYS_STREAM_POLL_SECONDS,
            ) as supervisor:
                try:
                    await self._hold(stop, poll_thread, supervisor, notifications)
                finally:
                    await notifications.close()
            # Nothing is held any more: another replica may take it all now.
            try:
                await poll_thread.run(relay_ownership.stop, token=self.token)
            except Exception:
                logger.exception("Genesys relay: could not release; its leases will run out")
            else:
                logger.info("Genesys relay %s: released its handovers", self.token[:8])
        finally:
            await streams_http.close()
            await reads_http.close()
            poll_thread.close()
            pool.close()

    async def _hold(
        self,
        stop: asyncio.Event,
        poll_thread: BlockingPool,
        supervisor: StreamSupervisor,
        notifications: NotificationsSupervisor,
    ) -> None:
        loop = asyncio.get_running_loop()
        lease = settings.RELAY_OWNERSHIP_LEASE_SECONDS
        renewed_at = loop.time()
        while not stop.is_set():
            started = loop.time()
            try:
                streams, channels = await poll_thread.run(self.poll)
            except Exception:
                logger.exception("Genesys relay: could not refresh the handovers to hold")
                if loop.time() - renewed_at > lease:
                    logger.error("Genesys relay: no lease renewed for %g s; holding nothing", lease)
                    self._owned = set()
                    streams, channels = {}, {}
                else:
                    streams = channels = None
            else:
                renewed_at = started
            for sync, wanted, what in (
                (supervisor.sync, streams, "event streams"),
                (notifications.sync, channels, "notifications"),
            ):
                if wanted is None:
                    continue
                try:
                    await sync(wanted)
                except Exception:
                    logger.exception("Genesys relay: could not refresh the %s", what)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
