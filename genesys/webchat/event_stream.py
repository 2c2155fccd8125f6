"""Holding web chat event streams: one conversation's (``ConversationStream``) and many
(``StreamSupervisor``), as normalized agent events for the relay.

Genesys's event stream is a WebSocket that sends heartbeats, member changes, messages
(our own echoed) and typing indicators, carrying only member ids, with no replay of what
was missed while disconnected (``../shared/GENESYS.md``, "Web chat v2 guest API"). So a
stream looks members up (and caches them), reconnects with backoff, backfills from the
history after every connect, delivers each agent message at most once, and polls the
history when the WebSocket cannot be held.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp

from endpoints.backoff import backoff_seconds
from genesys.platform import errors
from genesys.platform.async_http import connect_websocket
from genesys.platform.errors import GenesysError
from genesys.platform.regions import Region, check_event_stream_uri
from genesys.platform.timestamps import parse_timestamp
from genesys.webchat import client as guest
from genesys.webchat.client import WebChatSession
from ops.instruments import RELAY_STREAM_RECONNECTS

logger = logging.getLogger(__name__)

AGENT = "AGENT"
CONNECTED = "CONNECTED"
DISCONNECTED = "DISCONNECTED"
HEARTBEAT_TOPIC = "channel.metadata"

#: ``ConversationEnded.reason`` values.
ENDED_DISCONNECTED = "disconnected"  # our member was disconnected (e.g. the agent ended it)
ENDED_UNAUTHORIZED = "unauthorized"  # Genesys no longer accepts the conversation's JWT
# …or the Genesys error code: chat.error.conversation.state / chat.error.member.state


# Events


@dataclass(frozen=True)
class AgentJoined:
    member_id: str
    name: str


@dataclass(frozen=True)
class AgentMessage:
    message_id: str
    member_id: str
    name: str
    text: str
    at: datetime


@dataclass(frozen=True)
class AgentTyping:
    member_id: str
    name: str


@dataclass(frozen=True)
class AgentLeft:
    member_id: str
    name: str


@dataclass(frozen=True)
class ConversationEnded:
    """The conversation is over for us; ``reason`` says how we learnt it (see ``ENDED_*``)."""

    reason: str


Event = AgentJoined | AgentMessage | AgentTyping | AgentLeft | ConversationEnded


class StreamHandler(Protocol):
    async def __call__(self, event: Event) -> None: ...


# Internal control flow


class _Ended(Exception):
    """The conversation is over: deliver ``ConversationEnded`` and stop."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Retry(Exception):
    """Something transient failed (a call, the handler): reconnect and catch up later (not
    before ``retry_after`` seconds, when Genesys said so)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _BadCursor(_Retry):
    """The history refused our ``after`` cursor."""


class _NotFound(_Retry):
    """Genesys has no such member (or conversation)."""


class _ConnectFailed(_Retry):
    """No WebSocket connection was made."""


def _retry_after(error: GenesysError) -> float | None:
    return error.retry_after if isinstance(error, errors.GenesysRateLimited) else None


@dataclass(frozen=True)
class _Held:
    """How holding the WebSocket ended."""

    caught_up: bool
    retry_after: float | None = None


@dataclass(frozen=True)
class _Member:
    role: str
    name: str


class ConversationStream:
    """One conversation's event stream, delivered to ``handler`` as normalized events.

    ``run()`` holds the WebSocket (reconnecting with exponential backoff and jitter, then
    backfilling from the history) until the conversation ends, then delivers
    ``ConversationEnded`` and returns. After ``max_connect_failures`` consecutive failed
    connects it polls members and history every ``poll_seconds`` instead, and tries the
    WebSocket again every ``websocket_retry_seconds``. ``stop()`` ends it without an event.

    A handler that raises leaves the event undelivered: the stream reconnects and the
    backfill offers the message again. If it raises on ``ConversationEnded``, ``run()``
    raises it. A stream knows only what it saw: on its first connect it delivers the
    agents connected now and every agent message in the history not in
    ``known_message_ids`` (the caller deduplicates across streams and restarts).
    """

    def __init__(
        self,
        region: Region,
        session: WebChatSession,
        handler: StreamHandler,
        *,
        heartbeat_timeout: float = 3 * 30.0,
        max_connect_failures: int = 3,
        poll_seconds: float = 5.0,
        websocket_retry_seconds: float = 60.0,
        reconnect_seconds: float = 1.0,
        reconnect_max_seconds: float = 30.0,
        request_timeout: float = 10.0,
        remembered_messages: int = 10_000,
        known_message_ids: Iterable[str] = (),
        http: aiohttp.ClientSession | None = None,
        reads: aiohttp.ClientSession | None = None,
        joining: asyncio.Semaphore | None = None,
    ) -> None:
        self.region = region
        self.session = session
        self.handler = handler
        self.heartbeat_timeout = heartbeat_timeout
        self.max_connect_failures = max(1, max_connect_failures)
        self.poll_seconds = poll_seconds
        self.websocket_retry_seconds = websocket_retry_seconds
        self.reconnect_seconds = reconnect_seconds
        self.reconnect_max_seconds = reconnect_max_seconds
        self.request_timeout = request_timeout
        self.remembered_messages = remembered_messages
        self._http = http
        #: The member and history reads go through their own session when given: a
        #: WebSocket holds its connection for as long as it is open, so reads sharing a
        #: connection limit with the streams wait behind them.
        self._reads = reads
        #: Turns for connecting and catching up, shared by a supervisor's streams.
        self.joining = joining
        # The SSRF guard: the URI comes from Genesys; refuse it before anyone connects.
        self._stream_uri = check_event_stream_uri(region, session.event_stream_uri)
        self._messages_topic = f"v2.conversations.chats.{session.conversation_id}.messages"
        self._members_topic = f"v2.conversations.chats.{session.conversation_id}.members"
        self._members: dict[str, _Member] = {}
        self._announced: dict[str, str] = {}  # agent member id → state last delivered
        self._delivered: OrderedDict[str, None] = OrderedDict()
        for message_id in known_message_ids:
            self._remember(message_id)
        self._history_cursor: str | None = None  # last message id read from the history
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: Successful WebSocket connects so far, and whether it is polling now.
        self.connects = 0
        self.polling = False

    @property
    def conversation_id(self) -> str:
        return self.session.conversation_id

    def __repr__(self) -> str:
        return f"<ConversationStream {self.conversation_id}>"

    # Lifecycle

    async def run(self) -> None:
        """Hold the stream until the conversation ends (returns) or ``stop()`` is called."""
        if self._stopping:
            return
        self._task = asyncio.current_task()
        try:
            if self._http is not None:
                await self._run(self._http)
            else:
                async with aiohttp.ClientSession() as http:
                    await self._run(http)
        except _Ended as ended:
            logger.info("Genesys web chat %s ended (%s)", self.conversation_id, ended.reason)
            await self.handler(ConversationEnded(ended.reason))
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            if self._task is not None:
                self._task.uncancel()
            logger.info("Genesys web chat %s: stream stopped", self.conversation_id)

    def stop(self) -> None:
        """Close the stream; ``run()`` returns without delivering anything more."""
        self._stopping = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _run(self, http: aiohttp.ClientSession) -> None:
        if self._reads is None:
            self._reads = http
        loop = asyncio.get_running_loop()
        failures = 0  # failed connects in a row: after max_connect_failures, poll instead
        setbacks = 0  # connects in a row that failed or could not catch up: the backoff's n
        last_websocket_try = 0.0
        while True:
            if self.polling and loop.time() - last_websocket_try < self.websocket_retry_seconds:
                wait = self.poll_seconds
                try:
                    await self._catch_up(http)
                except _Retry as error:
                    logger.warning(
                        "Genesys web chat %s: polling failed (%s)", self.conversation_id, error
                    )
                    wait = max(wait, error.retry_after or 0.0)
                await asyncio.sleep(wait)
                continue
            last_websocket_try = loop.time()
            try:
                async with self._joining_turn() as joined:
                    held = await self._hold_websocket(http, joined)  # connected: not polling
                failures = 0
                setbacks = 0 if held.caught_up else setbacks + 1
                retry_after = held.retry_after
            except _ConnectFailed as error:
                failures += 1
                setbacks += 1
                retry_after = error.retry_after
                if self.polling:
                    continue  # the retry interval is the backoff while polling
                if failures >= self.max_connect_failures:
                    logger.warning(
                        "Genesys web chat %s: event stream failed %s times (%s); polling the "
                        "history every %g s instead",
                        self.conversation_id,
                        failures,
                        error,
                        self.poll_seconds,
                    )
                    self.polling = True
                    continue
            delay = self.reconnect_delay(setbacks, retry_after)
            RELAY_STREAM_RECONNECTS.inc()
            logger.info(
                "Genesys web chat %s: reconnecting the event stream in %.2f s",
                self.conversation_id,
                delay,
            )
            await asyncio.sleep(delay)

    def reconnect_delay(self, setbacks: int, retry_after: float | None = None) -> float:
        """After the n-th connect in a row that failed or could not catch up (Genesys
        failing the member or history reads) backoff(n), after a stream that was held and
        then lost backoff(1); a 429's ``Retry-After`` longer than that wins."""
        delay = backoff_seconds(
            setbacks, base=self.reconnect_seconds, cap=self.reconnect_max_seconds
        )
        return max(delay, retry_after or 0.0)

    # The WebSocket

    @contextlib.asynccontextmanager
    async def _joining_turn(self) -> AsyncIterator[Callable[[], None]]:
        """A turn among the streams connecting and catching up at once (``joining``, when
        given); the block calls what it yields once it has caught up, to give it back."""
        slot = self.joining
        if slot is None:
            yield lambda: None
            return
        await slot.acquire()
        released = False

        def joined() -> None:
            nonlocal released
            if not released:
                released = True
                slot.release()

        try:
            yield joined
        finally:
            joined()

    async def _hold_websocket(
        self, http: aiohttp.ClientSession, joined: Callable[[], None] = lambda: None
    ) -> _Held:
        """Connect, catch up (then ``joined()``), read frames until the socket closes or
        falls silent; whether it caught up, and the ``Retry-After`` of the failure that
        ended it, if any.

        Raises ``_ConnectFailed`` when no connection was made; ``_Ended`` when it is over.
        """
        try:
            ws = await connect_websocket(
                http,
                self._stream_uri,
                what="the event stream connection",
                total_timeout=self.request_timeout,
                timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
            )
        except GenesysError as error:  # its message names the host, never the URI
            raise _ConnectFailed(str(error), retry_after=_retry_after(error)) from None
        async with ws:
            self.connects += 1
            logger.info(
                "Genesys web chat %s: event stream connected%s%s",
                self.conversation_id,
                " again" if self.connects > 1 else "",
                "; polling stops" if self.polling else "",
            )
            self.polling = False
            caught_up = False
            try:
                await self._catch_up(http)
                caught_up = True
                joined()
                while True:
                    try:
                        frame = await ws.receive(timeout=self.heartbeat_timeout)
                    except TimeoutError:
                        logger.warning(
                            "Genesys web chat %s: no frame for %g s; the stream is dead",
                            self.conversation_id,
                            self.heartbeat_timeout,
                        )
                        return _Held(caught_up)
                    if frame.type == aiohttp.WSMsgType.TEXT:
                        await self._on_frame(http, frame.data)
                    elif frame.type in (
                        aiohttp.WSMsgType.CLOSE,
                        aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.CLOSED,
                        aiohttp.WSMsgType.ERROR,
                    ):
                        logger.info(
                            "Genesys web chat %s: event stream closed (%s)",
                            self.conversation_id,
                            frame.type.name,
                        )
                        return _Held(caught_up)
            except _Retry as error:
                logger.warning("Genesys web chat %s: %s; reconnecting", self.conversation_id, error)
                return _Held(caught_up, error.retry_after)
            except (aiohttp.ClientError, ConnectionError) as error:
                logger.warning(
                    "Genesys web chat %s: event stream failed (%s)",
                    self.conversation_id,
                    type(error).__name__,
                )
            return _Held(caught_up)

    async def _on_frame(self, http: aiohttp.ClientSession, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            logger.debug("Genesys web chat %s: a frame that is not JSON", self.conversation_id)
            return
        if not isinstance(frame, dict) or frame.get("topicName") == HEARTBEAT_TOPIC:
            return
        topic = frame.get("topicName")
        kind = (frame.get("metadata") or {}).get("type")
        body = frame.get("eventBody")
        if not isinstance(body, dict):
            return
        if topic == self._messages_topic and kind == "message":
            await self._on_message(http, body)
        elif topic == self._messages_topic and kind == "typing-indicator":
            await self._on_typing(http, body)
        elif topic == self._members_topic and kind == "member-change":
            await self._on_member_change(http, body)

    async def _on_message(self, http: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        message_id = body.get("id")
        sender_id = (body.get("sender") or {}).get("id")
        if not message_id or not sender_id or sender_id == self.session.member_id:
            return  # our own echo
        # Only what agents write; member-join/-leave duplicate the member changes.
        if body.get("bodyType") != "standard" or message_id in self._delivered:
            return
        member = await self._member(http, sender_id)
        if member.role != AGENT:
            return
        if sender_id not in self._announced:
            # An agent who writes has joined: one who joined after the catch-up's member
            # read shows in the history before their member-change frame arrives.
            await self._deliver(AgentJoined(sender_id, member.name))
            self._announced[sender_id] = CONNECTED
        at = parse_timestamp(body.get("timestamp")) or datetime.now(UTC)
        text = body.get("body") if isinstance(body.get("body"), str) else ""
        await self._deliver(AgentMessage(message_id, sender_id, member.name, text, at))
        self._remember(message_id)

    async def _on_typing(self, http: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        sender_id = (body.get("sender") or {}).get("id")
        if not sender_id or sender_id == self.session.member_id:
            return
        member = await self._member(http, sender_id)
        if member.role == AGENT:
            with contextlib.suppress(_Retry):  # a lost typing indicator is not worth a reconnect
                await self._deliver(AgentTyping(sender_id, member.name))

    async def _on_member_change(self, http: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        change = body.get("member") or {}
        member_id, state = change.get("id"), change.get("state")
        if not member_id:
            return
        if member_id == self.session.member_id:
            if state == DISCONNECTED:
                raise _Ended(ENDED_DISCONNECTED)
            return
        member = await self._member(http, member_id)
        if member.role != AGENT:
            return  # the ACD placeholder, workflows
        if state == CONNECTED and self._announced.get(member_id) != CONNECTED:
            await self._deliver(AgentJoined(member_id, member.name))
            self._announced[member_id] = CONNECTED
        elif state == DISCONNECTED and self._announced.get(member_id) != DISCONNECTED:
            await self._deliver(AgentLeft(member_id, member.name))
            self._announced[member_id] = DISCONNECTED

    # Catching up: after every connect, and each poll

    async def _catch_up(self, http: aiohttp.ClientSession) -> None:
        """Deliver what the member list and the history show that was not delivered yet:
        agents who joined, their messages, agents who left, then the end."""
        entities = await self._read(
            guest.fetch_members(
                self._reads, self.region, self.session, timeout=self.request_timeout
            )
        )
        joined: list[tuple[str, _Member]] = []
        left: list[tuple[str, _Member]] = []
        ended = False
        for info in entities:
            if not info.get("id"):
                continue
            member_id, state = str(info["id"]), info.get("state")
            member = self._cache_member(member_id, info)
            if member_id == self.session.member_id:
                ended = state == DISCONNECTED
            elif member.role == AGENT:
                announced = self._announced.get(member_id)
                if state == CONNECTED and announced != CONNECTED:
                    joined.append((member_id, member))
                elif state == DISCONNECTED and announced == CONNECTED:
                    left.append((member_id, member))
        for member_id, member in joined:
            await self._deliver(AgentJoined(member_id, member.name))
            self._announced[member_id] = CONNECTED
        await self._backfill(http)
        for member_id, member in left:
            await self._deliver(AgentLeft(member_id, member.name))
            self._announced[member_id] = DISCONNECTED
        if ended:
            raise _Ended(ENDED_DISCONNECTED)

    async def _backfill(self, http: aiohttp.ClientSession) -> None:
        """Offer every history message after the cursor to ``_on_message``, oldest first."""
        while True:
            page_read = guest.fetch_history_page(
                self._reads,
                self.region,
                self.session,
                after=self._history_cursor,
                timeout=self.request_timeout,
            )
            try:
                page, more = await self._read(page_read, cursor=bool(self._history_cursor))
            except _BadCursor:
                self._history_cursor = None  # read it all again; delivered ids are skipped
                continue
            for message in page:
                await self._on_message(http, message)
                if message.get("id"):
                    self._history_cursor = str(message["id"])
            if not more:
                return

    # Members and HTTP

    async def _member(self, http: aiohttp.ClientSession, member_id: str) -> _Member:
        member = self._members.get(member_id)
        if member is None:
            lookup = guest.fetch_member(
                self._reads, self.region, self.session, member_id, timeout=self.request_timeout
            )
            try:
                info = await self._read(lookup)
            except _NotFound:
                # Not worth a reconnect loop that would stall the backfill behind it.
                logger.warning(
                    "Genesys web chat %s: member %s not found; its events are ignored",
                    self.conversation_id,
                    member_id,
                )
                info = {"role": "UNKNOWN"}
            member = self._cache_member(member_id, info)
        return member

    def _cache_member(self, member_id: str, info: dict[str, Any]) -> _Member:
        member = _Member(role=str(info.get("role") or ""), name=str(info.get("displayName") or ""))
        if member.role:  # role and name do not change; state is read from each event
            self._members[member_id] = member
        return member

    async def _read(self, call: Awaitable[Any], *, cursor: bool = False) -> Any:
        """Await a guest API read; what its ``GenesysError`` means for the stream.

        ``_Ended`` when Genesys says the conversation is over (its JWT refused, or 400
        ``chat.error.conversation.state``/``member.state``), ``_NotFound``, ``_BadCursor``
        for a 400 to a read with a cursor (``cursor``), ``_Retry`` for the rest (the call
        was already retried as every Genesys call is: ``genesys.platform.retrying``).
        """
        try:
            return await call
        except errors.GenesysConversationEnded as error:
            raise _Ended(error.code) from None
        except errors.GenesysAuthenticationError:
            raise _Ended(ENDED_UNAUTHORIZED) from None
        except errors.GenesysNotFound as error:
            raise _NotFound(str(error)) from None
        except errors.GenesysBadRequest as error:
            if cursor and error.status == 400:
                raise _BadCursor(str(error)) from None
            raise _Retry(str(error)) from None
        except GenesysError as error:
            raise _Retry(str(error), retry_after=_retry_after(error)) from None

    # Delivery

    async def _deliver(self, event: Event) -> None:
        try:
            await self.handler(event)
        except Exception as error:
            logger.warning(
                "Genesys web chat %s: the handler failed on %s",
                self.conversation_id,
                type(event).__name__,
                exc_info=True,
            )
            raise _Retry(f"the handler failed on {type(event).__name__}") from error

    def _remember(self, message_id: str) -> None:
        self._delivered[message_id] = None
        while len(self._delivered) > self.remembered_messages:
            self._delivered.popitem(last=False)


# Many streams in one loop

SupervisorHandler = Callable[[str, Event], Awaitable[None]]

#: Connections for the member and history reads of a supervisor's streams (aiohttp's
#: default limit), when it is not given a session for them.
READ_CONNECTIONS = 100
#: Streams of a supervisor that connect and catch up at once.
JOINING_AT_ONCE = 50


class StreamSupervisor:
    """Holds one ``ConversationStream`` per key (e.g. a handover id) in this event loop.

    Call ``sync(wanted)`` every second or two with the conversations that should be held:
    it starts streams for new keys (or a key whose session changed) and stops those whose
    key disappeared. A stream that ended, or whose stream URI the guard refused, is not
    started again while its key is still wanted with the same session; one that crashed
    is, at the next ``sync``. ``stream_options`` go to every ``ConversationStream``.

    ``http`` carries the WebSockets and ``reads`` the member and history reads. Apart, so
    that reads never wait behind the streams: a stream holds its connection while it is
    open, so the WebSockets' connection limit caps the streams held (by default the
    supervisor's own sessions: streams unlimited, reads ``READ_CONNECTIONS``). At most
    ``joining_at_once`` streams connect and catch up at a time, so that thousands starting
    together (the relay starting, a replica's handovers taken over) come in a steady
    stream rather than all at once, within Genesys's rate limits and the reads' timeouts.
    """

    def __init__(
        self,
        handler: SupervisorHandler,
        *,
        http: aiohttp.ClientSession | None = None,
        reads: aiohttp.ClientSession | None = None,
        joining_at_once: int = JOINING_AT_ONCE,
        **stream_options: Any,
    ) -> None:
        self.handler = handler
        self.stream_options = stream_options
        self._http = http
        self._reads = reads
        self._joining = asyncio.Semaphore(max(1, joining_at_once))
        self._own: list[aiohttp.ClientSession] = []
        self._running: dict[str, tuple[WebChatSession, ConversationStream, asyncio.Task]] = {}
        self._finished: dict[str, WebChatSession] = {}

    async def __aenter__(self) -> StreamSupervisor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def streams(self) -> dict[str, ConversationStream]:
        """The streams running now, by key."""
        return {key: stream for key, (_, stream, _) in self._running.items()}

    async def sync(self, wanted: Mapping[str, tuple[Region, WebChatSession]]) -> None:
        self._reap()
        stopping = [
            key
            for key, (session, _, _) in self._running.items()
            if key not in wanted or wanted[key][1] != session
        ]
        await self._stop([self._running.pop(key) for key in stopping])
        for key in list(self._finished):
            if key not in wanted or wanted[key][1] != self._finished[key]:
                del self._finished[key]
        for key, (region, session) in wanted.items():
            if key in self._running or self._finished.get(key) == session:
                continue
            try:
                stream = ConversationStream(
                    region,
                    session,
                    self._handler_for(key),
                    http=self._session(),
                    reads=self._read_session(),
                    joining=self._joining,
                    **self.stream_options,
                )
            except GenesysError as error:
                logger.error("Genesys web chat %s: %s", session.conversation_id, error)
                self._finished[key] = session
                continue
            task = asyncio.create_task(stream.run(), name=f"genesys-stream-{key}")
            self._running[key] = (session, stream, task)

    async def close(self) -> None:
        """Stop every stream and wait for them to close."""
        running, self._running = list(self._running.values()), {}
        await self._stop(running)
        own, self._own = self._own, []
        for http in own:
            await http.close()
        if self._http in own:
            self._http = None
        if self._reads in own:
            self._reads = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = self._own_session(limit=0)
        return self._http

    def _read_session(self) -> aiohttp.ClientSession:
        if self._reads is None or self._reads.closed:
            self._reads = self._own_session(limit=READ_CONNECTIONS)
        return self._reads

    def _own_session(self, *, limit: int) -> aiohttp.ClientSession:
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit))
        self._own.append(http)
        return http

    def _handler_for(self, key: str) -> StreamHandler:
        async def handle(event: Event) -> None:
            await self.handler(key, event)

        return handle

    def _reap(self) -> None:
        for key, (session, stream, task) in list(self._running.items()):
            if not task.done():
                continue
            del self._running[key]
            error = None if task.cancelled() else task.exception()
            if error is None:
                self._finished[key] = session
            else:
                logger.error(
                    "Genesys web chat %s: the stream failed; it restarts at the next sync",
                    stream.conversation_id,
                    exc_info=error,
                )

    @staticmethod
    async def _stop(
        entries: list[tuple[WebChatSession, ConversationStream, asyncio.Task]],
    ) -> None:
        for _, stream, _ in entries:
            stream.stop()
        if entries:
            await asyncio.gather(*(task for _, _, task in entries), return_exceptions=True)
