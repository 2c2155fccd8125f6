"""The end of Open Messaging conversations, seen on Genesys's Notifications API.

The relay process holds notification channels (WebSockets) per OAuth connection and region
(``channel_pool``: at most ``MAX_TOPICS`` topics each), subscribed to ``v2.conversations.{id}``
of every open Open Messaging handover. Each
frame carries the conversation's participants: agents joining and leaving become
``agent_joined``/``agent_left`` events; a customer participant disconnected ends the handover
(``agent_left``) at once; no agent and no queue connected ends it only if that is still so
``GENESYS_TRANSFER_GRACE_SECONDS`` later, checked against the conversation itself (a transfer
between queues disconnects the agent before the next queue connects).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from endpoints.backoff import backoff_seconds
from genesys.models import OAuth2Connection
from genesys.open_messaging import client as open_messaging
from genesys.platform import errors
from genesys.platform.async_http import connect_websocket
from genesys.platform.client import GenesysClient
from genesys.platform.regions import Region, check_event_stream_uri

logger = logging.getLogger(__name__)

HEARTBEAT_TOPIC = "channel.metadata"
TOPIC_PREFIX = "v2.conversations."
MAX_TOPICS = 1000
AGENT, ACD, CUSTOMER = "agent", "acd", "customer"
CONNECTED = frozenset({"connected", "alerting", "dialing", "contacting"})
OVER = frozenset({"disconnected", "terminated"})
#: Errors of the channel as a whole (its token, Genesys itself): reconnect, then catch up.
CHANNEL_ERRORS = (
    errors.GenesysUnavailable,
    errors.GenesysRateLimited,
    errors.GenesysAuthenticationError,
    errors.GenesysCredentialsError,
)


@dataclass(frozen=True)
class Participants:
    """What a conversation's participant list says, for the handover."""

    customer_over: bool
    #: agent participant id → (name, connected)
    agents: dict[str, tuple[str, bool]]
    queue_connected: bool

    @property
    def agent_connected(self) -> bool:
        return any(connected for _, connected in self.agents.values())

    @property
    def abandoned(self) -> bool:
        """Nobody on Genesys's side: no agent and no queue (over, or mid-transfer)."""
        return not self.agent_connected and not self.queue_connected


def _state(participant: dict[str, Any]) -> str:
    state = participant.get("state")
    if not state:
        messages = participant.get("messages") or []
        if messages and isinstance(messages[0], dict):
            state = messages[0].get("state")
    return str(state or "").lower()


def read_participants(conversation: Mapping[str, Any]) -> Participants:
    """Read a ``v2.conversations.{id}`` event body or a ``MessageConversation``."""
    customer_over = False
    agents: dict[str, tuple[str, bool]] = {}
    queue_connected = False
    for participant in conversation.get("participants") or []:
        if not isinstance(participant, dict):
            continue
        purpose, state = participant.get("purpose"), _state(participant)
        if purpose == CUSTOMER:
            customer_over = state in OVER
        elif purpose == AGENT and participant.get("id"):
            agents[str(participant["id"])] = (
                str(participant.get("name") or ""),
                state in CONNECTED,
            )
        elif purpose == ACD and state in CONNECTED:
            queue_connected = True
    return Participants(customer_over, agents, queue_connected)


# Many conversations, one channel

#: ``(conversation_id, participants)`` → ``"ended"`` when the handover ended, else ``""``.
Handler = Callable[[str, Participants], Awaitable[str]]
#: ``conversation_id`` → the handover ended as ``agent_left``.
EndHandler = Callable[[str], Awaitable[Any]]
#: ``await blocking(function, *args, **kwargs)``: a blocking call off the event loop.
Blocking = Callable[..., Awaitable[Any]]


class NotificationChannel:
    """One Notifications API channel of one OAuth connection, for many conversations.

    ``watch(conversation ids)`` sets what it subscribes to; ``run()`` holds the WebSocket:
    creates the channel, subscribes, reads the conversations once (what was missed while
    disconnected), then reads frames, resubscribing when the set changes and reconnecting
    with backoff when the socket closes, fails or falls silent. After ``lifetime_seconds``
    it builds a new channel (Genesys's last 24 h) and catches up again. A conversation that
    cannot be read or recorded is set aside and read again every ``retry_seconds``: one bad
    conversation never holds up the others.

    The catch-up reads run beside the receive loop, ``catch_up_concurrency`` at a time (or
    as many as ``catch_up_turns``, shared by the channels of a supervisor), so
    frames keep being read while a thousand new conversations are; a read takes its
    conversation's place in the recording order as it starts (a frame arriving while it
    reads is recorded after it). A read failing for the whole channel (its token, Genesys
    away) reconnects.
    """

    def __init__(
        self,
        region: Region,
        connection: OAuth2Connection,
        on_participants: Handler,
        on_abandoned: EndHandler,
        *,
        grace_seconds: float = 10.0,
        heartbeat_timeout: float = 90.0,
        reconnect_seconds: float = 1.0,
        reconnect_max_seconds: float = 30.0,
        retry_seconds: float = 5.0,
        lifetime_seconds: float = 23 * 3600.0,
        blocking: Blocking = asyncio.to_thread,
        catch_up_concurrency: int = 4,
        catch_up_turns: asyncio.Semaphore | None = None,
    ) -> None:
        self.region = region
        self.connection = connection
        self.client = GenesysClient(region=region, connection=connection)
        self.on_participants = on_participants
        self.on_abandoned = on_abandoned
        self.grace_seconds = grace_seconds
        self.heartbeat_timeout = heartbeat_timeout
        self.reconnect_seconds = reconnect_seconds
        self.reconnect_max_seconds = reconnect_max_seconds
        self.retry_seconds = retry_seconds
        self.lifetime_seconds = lifetime_seconds
        #: Runs the blocking ``requests`` calls (the relay gives its bounded thread pool).
        self.blocking = blocking
        self.conversations: set[str] = set()
        #: Conversations whose last read or recording failed, and when to read them again.
        self._unread: set[str] = set()
        self._retry_at = 0.0
        self._subscribed: set[str] | None = None
        self._channel_id = ""
        self._grace: dict[str, asyncio.Task[None]] = {}
        #: Frames being recorded, each conversation's in arrival order (its lock is FIFO):
        #: one channel records many conversations at once, on the ``blocking`` pool.
        self._recording: set[asyncio.Task[None]] = set()
        self._order: dict[str, list[Any]] = {}  # conversation id → [lock, users]
        self._changed = asyncio.Event()
        #: Catch-up reads in flight, at most this many at once (on the ``blocking`` pool,
        #: which also records frames: never all of it).
        self._catch_ups: set[asyncio.Task[None]] = set()
        self._reading = catch_up_turns or asyncio.Semaphore(max(1, catch_up_concurrency))
        #: A catch-up read's error of the whole channel: the receive loop reconnects on it.
        self._channel_error: BaseException | None = None
        self.connects = 0

    def watch(self, conversation_ids: set[str]) -> None:
        if conversation_ids != self.conversations:
            for gone in set(self._grace) - conversation_ids:
                self._grace.pop(gone).cancel()
            self.conversations = set(conversation_ids)
            self._changed.set()

    async def run(self) -> None:
        failures = 0
        async with aiohttp.ClientSession() as http:
            while True:
                retry_after = None
                try:
                    await self._hold(http)
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    failures += 1
                    retry_after = getattr(error, "retry_after", None)
                    logger.warning(
                        "Genesys notifications (%s): %s", self.region.host,
                        error if isinstance(error, errors.GenesysError) else type(error).__name__,
                    )  # fmt: skip
                await asyncio.sleep(self.reconnect_delay(failures, retry_after))

    def reconnect_delay(self, failures: int, retry_after: float | None = None) -> float:
        """The n-th failure in a row waits backoff(n), a channel that was held and then
        lost backoff(1); a 429's ``Retry-After`` longer than that wins."""
        delay = backoff_seconds(
            failures, base=self.reconnect_seconds, cap=self.reconnect_max_seconds
        )
        return max(delay, retry_after or 0.0)

    async def close(self) -> None:
        for task in [*self._grace.values(), *self._recording, *self._catch_ups]:
            task.cancel()
        self._grace.clear()
        self._recording.clear()
        self._catch_ups.clear()

    async def _hold(self, http: aiohttp.ClientSession) -> None:
        channel = await self.blocking(self.client.create_notification_channel)
        try:
            self._channel_id = str(channel["id"])
            connect_uri = str(channel["connectUri"])
        except (KeyError, TypeError):
            raise errors.GenesysError(
                "Genesys Cloud answered the notification channel creation without id or connectUri"
            ) from None
        uri = check_event_stream_uri(self.region, connect_uri)
        self._subscribed = None
        ws = await connect_websocket(
            http, uri, what="the notification channel connection", heartbeat=None
        )
        async with ws:
            self.connects += 1
            logger.info("Genesys notifications (%s): channel connected", self.region.host)
            try:
                await self._receive(ws)
            finally:  # the next connection catches up on everything again
                for task in self._catch_ups:
                    task.cancel()
                self._catch_ups.clear()
                self._channel_error = None

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        await self._subscribe()
        self._catch_up_beside(self.conversations)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.heartbeat_timeout
        rebuild_at = loop.time() + self.lifetime_seconds
        while True:
            if self._channel_error is not None:
                raise self._channel_error
            if loop.time() >= rebuild_at:
                logger.info(
                    "Genesys notifications (%s): a new channel before this one's 24 h "
                    "lifetime ends",
                    self.region.host,
                )
                return
            if self._changed.is_set():
                new = self.conversations - (self._subscribed or set())
                await self._subscribe()
                self._catch_up_beside(new)
            if self._unread and loop.time() >= self._retry_at:
                unread, self._unread = self._unread & self.conversations, set()
                self._catch_up_beside(unread)
            try:
                frame = await ws.receive(timeout=0.5)
            except TimeoutError:
                if loop.time() > deadline:
                    logger.warning("Genesys notifications: silent channel; reconnecting")
                    return
                continue
            deadline = loop.time() + self.heartbeat_timeout
            if frame.type == aiohttp.WSMsgType.TEXT:
                await self._on_frame(frame.data)
            elif frame.type in (
                aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR,
            ):  # fmt: skip
                return

    async def _subscribe(self) -> None:
        self._changed.clear()
        wanted = sorted(self.conversations)
        if len(wanted) > MAX_TOPICS:
            logger.error(
                "Genesys notifications: %s conversations; one channel holds %s topics",
                len(wanted), MAX_TOPICS,
            )  # fmt: skip
            wanted = wanted[:MAX_TOPICS]
        await self.blocking(
            self.client.set_notification_topics,
            self._channel_id,
            [f"{TOPIC_PREFIX}{cid}" for cid in wanted],
        )
        self._subscribed = set(wanted)

    def _catch_up_beside(self, conversation_ids: set[str]) -> None:
        """Catch up on ``conversation_ids`` beside the receive loop; an error of the whole
        channel is raised by the loop (``_channel_error``)."""
        if not conversation_ids:
            return

        async def catch_up() -> None:
            try:
                await self._catch_up(conversation_ids)
            except Exception as error:  # the loop raises it: run() logs it and reconnects
                self._channel_error = error

        task = asyncio.create_task(catch_up())
        self._catch_ups.add(task)
        task.add_done_callback(self._catch_ups.discard)

    async def _catch_up(self, conversation_ids: set[str]) -> None:
        """Read each conversation as it is now: what happened before we subscribed; at most
        ``catch_up_concurrency`` reads at once. Raises the first error of the whole channel
        (the other reads are cancelled: the channel reconnects and reads them all again)."""
        try:
            async with asyncio.TaskGroup() as group:
                for conversation_id in sorted(conversation_ids):
                    group.create_task(self._read_in_order(conversation_id))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None

    async def _read_in_order(self, conversation_id: str) -> None:
        # Its turn in the conversation's order once it is about to read, not before: a frame
        # recorded while the read waited is older than what the read will see.
        async with self._reading, self._in_order(conversation_id):
            try:
                found = await self.blocking(
                    open_messaging.get_conversation, self.client, conversation_id
                )
            except errors.GenesysNotFound:
                return
            except CHANNEL_ERRORS:
                raise
            except errors.GenesysError as error:
                logger.warning(
                    "Genesys notifications: conversation %s cannot be read (%s); set aside",
                    conversation_id, error,
                )  # fmt: skip
                self._set_aside(conversation_id)
                return
            await self._on_conversation(conversation_id, found)

    def _set_aside(self, conversation_id: str) -> None:
        if not self._unread:
            self._retry_at = asyncio.get_running_loop().time() + self.retry_seconds
        self._unread.add(conversation_id)

    async def _on_frame(self, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            return
        if not isinstance(frame, dict) or frame.get("topicName") == HEARTBEAT_TOPIC:
            return
        topic = str(frame.get("topicName") or "")
        body = frame.get("eventBody")
        if not topic.startswith(TOPIC_PREFIX) or not isinstance(body, dict):
            return
        conversation_id = str(body.get("id") or topic.rsplit(".", 1)[-1])
        if conversation_id in self.conversations:
            task = asyncio.create_task(self._record_in_order(conversation_id, body))
            self._recording.add(task)
            task.add_done_callback(self._recording.discard)

    async def _record_in_order(self, conversation_id: str, body: Mapping[str, Any]) -> None:
        async with self._in_order(conversation_id):
            await self._on_conversation(conversation_id, body)

    @contextlib.asynccontextmanager
    async def _in_order(self, conversation_id: str) -> AsyncIterator[None]:
        """The conversation's turn: its frames and catch-up reads one at a time, in the
        order they came (the lock is FIFO)."""
        entry = self._order.setdefault(conversation_id, [asyncio.Lock(), 0])
        entry[1] += 1  # frames and reads of this conversation waiting or being recorded
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if not entry[1]:
                del self._order[conversation_id]

    async def _on_conversation(self, conversation_id: str, body: Mapping[str, Any]) -> None:
        participants = read_participants(body)
        try:
            outcome = await self.on_participants(conversation_id, participants)
        except Exception:
            logger.exception(
                "Genesys notifications: recording conversation %s failed; set aside",
                conversation_id,
            )
            self._set_aside(conversation_id)
            return
        if outcome == "ended":
            self._cancel_grace(conversation_id)
        elif participants.abandoned and not participants.customer_over:
            if conversation_id not in self._grace:
                self._grace[conversation_id] = asyncio.create_task(
                    self._after_grace(conversation_id)
                )
        else:
            self._cancel_grace(conversation_id)

    def _cancel_grace(self, conversation_id: str) -> None:
        task = self._grace.pop(conversation_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _after_grace(self, conversation_id: str) -> None:
        await asyncio.sleep(self.grace_seconds)
        try:
            found = await self.blocking(
                open_messaging.get_conversation, self.client, conversation_id
            )
        except errors.GenesysNotFound:
            found = {"participants": []}
        except errors.GenesysError as error:
            logger.warning("Genesys notifications: checking %s failed: %s", conversation_id, error)
            self._grace.pop(conversation_id, None)
            return
        self._grace.pop(conversation_id, None)
        participants = read_participants(found)
        if participants.abandoned or participants.customer_over:
            logger.info(
                "Genesys conversation %s: no agent and no queue for %g s; ending its handover",
                conversation_id, self.grace_seconds,
            )  # fmt: skip
            await self.on_abandoned(conversation_id)
