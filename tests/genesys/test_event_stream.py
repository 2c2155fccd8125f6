from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from genesys.platform import errors
from genesys.platform.regions import get_region
from genesys.webchat import client as webchat
from genesys.webchat import event_stream
from genesys.webchat.client import WebChatSession
from genesys.webchat.event_stream import (
    ENDED_DISCONNECTED,
    ENDED_UNAUTHORIZED,
    AgentJoined,
    AgentLeft,
    AgentMessage,
    AgentTyping,
    ConversationEnded,
    ConversationStream,
    Event,
    StreamSupervisor,
)
from tests.genesys_sandbox.test_webchat import run

REGION = get_region("mypurecloud.de")
TIMEOUT = 5
FAST = {"reconnect_seconds": 0.05, "reconnect_max_seconds": 0.2, "request_timeout": 2.0}


def create(sandbox, name: str = "Ann") -> WebChatSession:
    return webchat.create_conversation(
        REGION,
        organization_id=sandbox.organization_id,
        deployment_id=sandbox.deployment_id,
        queue_name=sandbox.queue_name,
        member_info={"displayName": name},
    )


async def act(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A blocking call (the sandbox's control API, the sync client) off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def until(condition: Callable[[], Any], what: str = "the condition") -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def connected(sandbox, stream: ConversationStream, connects: int = 1) -> None:
    await until(lambda: stream.connects >= connects, f"{connects} connects")
    await until(lambda: sandbox.state()["open_streams"] >= 1, "the sandbox's socket")


class Recorder:
    """A ``StreamHandler`` that keeps what it gets."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    def texts(self) -> list[str]:
        return [event.text for event in self.of(AgentMessage)]


def start(stream: ConversationStream) -> asyncio.Task[None]:
    return asyncio.create_task(stream.run())


def assert_no_secret_logged(caplog: pytest.LogCaptureFixture, session: WebChatSession) -> None:
    channel = session.event_stream_uri.rsplit("/", 1)[1]
    for record in caplog.records:
        text = record.getMessage()
        assert session.jwt not in text
        assert channel not in text


def test_a_whole_chat_becomes_agent_events(genesys):
    session = create(genesys)
    cid = session.conversation_id

    async def scenario() -> Recorder:
        events = Recorder()
        stream = ConversationStream(REGION, session, events, **FAST)
        task = start(stream)
        await connected(genesys, stream)
        agent = await act(genesys.agent_join, cid, "Alex Agent")
        await act(webchat.send_message, REGION, session, "Hello")  # echoed to us: dropped
        message_id = await act(genesys.agent_send, cid, "Hi Ann")
        await act(genesys.agent_typing, cid)
        await act(genesys.agent_leave, cid, end_conversation=True)
        await asyncio.wait_for(task, TIMEOUT)
        assert events.of(AgentMessage)[0].message_id == message_id
        assert events.events[0] == AgentJoined(agent["member"]["id"], "Alex Agent")
        return events

    events = run(scenario())

    assert [type(event) for event in events.events] == [
        AgentJoined,
        AgentMessage,
        AgentTyping,
        AgentLeft,
        ConversationEnded,
    ]
    message = events.of(AgentMessage)[0]
    assert (message.text, message.name) == ("Hi Ann", "Alex Agent")
    assert message.at.tzinfo is not None
    assert events.events[-1] == ConversationEnded(ENDED_DISCONNECTED)
    # The member list at connect gave the ACD placeholder; the agent is looked up once.
    members = f"/api/v2/webchat/guest/conversations/{cid}/members"
    lookups = [r["path"] for r in genesys.requests(members) if r["method"] == "GET"]
    assert lookups == [members, f"{members}/{events.events[0].member_id}"]


def test_a_transfer_is_a_leave_and_a_join_not_an_end(genesys):
    session = create(genesys)
    cid = session.conversation_id

    async def scenario() -> Recorder:
        events = Recorder()
        stream = ConversationStream(REGION, session, events, **FAST)
        task = start(stream)
        await connected(genesys, stream)
        await act(genesys.agent_join, cid, "First Agent")
        await act(genesys.agent_leave, cid, end_conversation=False)
        await act(genesys.agent_join, cid, "Second Agent")
        await until(lambda: len(events.of(AgentJoined)) == 2, "the second agent")
        assert not task.done()
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return events

    events = run(scenario())

    assert [(type(e).__name__, e.name) for e in events.events] == [
        ("AgentJoined", "First Agent"),
        ("AgentLeft", "First Agent"),
        ("AgentJoined", "Second Agent"),
    ]
    assert genesys.state()["open_streams"] == 0


def test_a_dropped_stream_reconnects_and_backfills_exactly_once(genesys, caplog):
    caplog.set_level(logging.DEBUG)
    session = create(genesys)
    cid = session.conversation_id

    async def scenario() -> tuple[Recorder, list[str]]:
        events = Recorder()
        # A slow first reconnect (0.25 to 0.5 s) leaves a gap to send into.
        options = {**FAST, "reconnect_seconds": 0.5}
        stream = ConversationStream(REGION, session, events, **options)
        task = start(stream)
        await connected(genesys, stream)
        await act(genesys.agent_join, cid)
        sent = [await act(genesys.agent_send, cid, "one")]
        await until(lambda: events.texts() == ["one"], "the first message")
        assert await act(genesys.drop_streams) == 1
        sent.append(await act(genesys.agent_send, cid, "two"))
        sent.append(await act(genesys.agent_send, cid, "three"))
        await connected(genesys, stream, 2)
        sent.append(await act(genesys.agent_send, cid, "four"))
        await until(lambda: len(events.texts()) >= 4, "four messages")
        await asyncio.sleep(0.2)  # room for a duplicate to show up
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return events, sent

    events, sent = run(scenario())

    assert events.texts() == ["one", "two", "three", "four"]
    assert [m.message_id for m in events.of(AgentMessage)] == sent
    assert len(events.of(AgentJoined)) == 1
    assert len(genesys.requests("/channels/")) == 2
    assert_no_secret_logged(caplog, session)


def test_heartbeat_silence_is_a_dead_stream(genesys):
    genesys.settings(heartbeat_seconds=60)
    session = create(genesys)
    cid = session.conversation_id

    async def scenario() -> Recorder:
        events = Recorder()
        stream = ConversationStream(REGION, session, events, heartbeat_timeout=0.2, **FAST)
        task = start(stream)
        await connected(genesys, stream, 3)
        await act(genesys.agent_join, cid)
        await act(genesys.agent_send, cid, "still here")
        await until(lambda: events.texts() == ["still here"], "the message")
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return events

    events = run(scenario())

    assert events.texts() == ["still here"]
    assert len(events.of(AgentJoined)) == 1


def test_heartbeats_keep_the_stream_and_are_no_events(genesys):
    genesys.settings(heartbeat_seconds=0.05)
    session = create(genesys)

    async def scenario() -> tuple[Recorder, int]:
        events = Recorder()
        # Heartbeats every 0.05 s against a 1.5 s timeout: a wide margin, so a busy machine
        # that delays a frame does not look like a dead stream.
        stream = ConversationStream(REGION, session, events, heartbeat_timeout=1.5, **FAST)
        task = start(stream)
        await connected(genesys, stream)
        await asyncio.sleep(2.0)
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return events, stream.connects

    events, connects = run(scenario())

    assert connects == 1
    assert events.events == []


def test_polling_when_the_stream_cannot_be_held_then_back_to_the_stream(genesys, caplog):
    caplog.set_level(logging.DEBUG)
    genesys.add_fault("/channels/", status=503, times=1000)
    session = create(genesys)
    cid = session.conversation_id

    async def scenario() -> Recorder:
        events = Recorder()
        stream = ConversationStream(
            REGION,
            session,
            events,
            max_connect_failures=2,
            poll_seconds=0.05,
            websocket_retry_seconds=0.3,
            **FAST,
        )
        task = start(stream)
        await until(lambda: stream.polling, "polling")
        await act(genesys.agent_join, cid, "Alex Agent")
        await act(genesys.agent_send, cid, "by polling")
        await until(lambda: events.texts() == ["by polling"], "the polled message")
        assert stream.connects == 0
        await act(genesys.clear_faults)
        await connected(genesys, stream)
        assert not stream.polling
        await act(genesys.agent_typing, cid)  # only the stream carries typing
        await until(lambda: events.of(AgentTyping), "typing over the stream")
        await act(genesys.agent_leave, cid, end_conversation=True)
        await asyncio.wait_for(task, TIMEOUT)
        return events

    events = run(scenario())

    assert [type(event) for event in events.events] == [
        AgentJoined,
        AgentMessage,
        AgentTyping,
        AgentLeft,
        ConversationEnded,
    ]
    assert any("polling" in r.getMessage() for r in caplog.records)
    assert_no_secret_logged(caplog, session)


def test_polling_sees_the_end(genesys):
    genesys.add_fault("/channels/", status=503, times=1000)
    session = create(genesys)
    cid = session.conversation_id

    async def scenario() -> Recorder:
        events = Recorder()
        options = {"max_connect_failures": 1, "poll_seconds": 0.05, **FAST}
        stream = ConversationStream(REGION, session, events, **options)
        task = start(stream)
        await until(lambda: stream.polling, "polling")
        await act(genesys.agent_join, cid)
        await until(lambda: events.of(AgentJoined), "the join")
        await act(genesys.agent_send, cid, "bye")
        await act(genesys.agent_leave, cid, end_conversation=True)
        await asyncio.wait_for(task, TIMEOUT)
        return events

    events = run(scenario())

    assert [type(event) for event in events.events] == [
        AgentJoined,
        AgentMessage,
        AgentLeft,
        ConversationEnded,
    ]


def test_a_stream_started_late_catches_up(genesys):
    session = create(genesys)
    cid = session.conversation_id
    genesys.agent_join(cid, "Alex Agent")
    first = genesys.agent_send(cid, "before the stream")
    second = genesys.agent_send(cid, "also before")

    async def scenario() -> Recorder:
        events = Recorder()
        stream = ConversationStream(REGION, session, events, known_message_ids=[first], **FAST)
        task = start(stream)
        await until(lambda: events.texts() == ["also before"], "the backfill")
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return events

    events = run(scenario())

    assert events.events[0] == AgentJoined(events.events[0].member_id, "Alex Agent")
    assert [m.message_id for m in events.of(AgentMessage)] == [second]


def test_an_agent_who_joins_between_the_member_read_and_the_history_joins_first(
    genesys, monkeypatch
):
    """The catch-up reads the members, then the history: an agent who joins and writes in
    between shows in the history only; their message must not reach the channel before
    their join (it did, the join following from the socket's member-change frame)."""
    session = create(genesys)
    cid = session.conversation_id
    real_fetch_members = event_stream.guest.fetch_members
    reads = 0

    async def members_then_an_agent_arrives(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        members = await real_fetch_members(*args, **kwargs)
        reads += 1
        if reads == 1:
            await act(genesys.agent_join, cid, "Alex Agent")
            await act(genesys.agent_send, cid, "Hi, I am here")
        return members

    monkeypatch.setattr(event_stream.guest, "fetch_members", members_then_an_agent_arrives)

    async def scenario() -> Recorder:
        events = Recorder()
        stream = ConversationStream(REGION, session, events, **FAST)
        task = start(stream)
        await until(lambda: events.of(AgentJoined) and events.texts(), "the join and message")
        await asyncio.sleep(0.3)  # the socket's member-change frame, read after the catch-up
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return events

    events = run(scenario())

    assert [type(event) for event in events.events] == [AgentJoined, AgentMessage]
    assert events.events[0].name == "Alex Agent"


def test_a_failing_handler_gets_the_message_again(genesys):
    session = create(genesys)
    cid = session.conversation_id

    async def scenario() -> list[str]:
        seen: list[str] = []

        async def flaky(event: Event) -> None:
            if isinstance(event, AgentMessage):
                seen.append(event.text)
                if len(seen) == 1:
                    raise RuntimeError("the database is down")

        stream = ConversationStream(REGION, session, flaky, **FAST)
        task = start(stream)
        await connected(genesys, stream)
        await act(genesys.agent_join, cid)
        await act(genesys.agent_send, cid, "important")
        await until(lambda: len(seen) >= 2, "the retry")
        await act(genesys.agent_send, cid, "next")
        await until(lambda: len(seen) >= 3, "the next message")
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return seen

    assert run(scenario()) == ["important", "important", "next"]


def test_a_jwt_genesys_no_longer_accepts_ends_the_conversation(genesys):
    session = replace(create(genesys), jwt="x.not-valid.jwt")

    async def scenario() -> Recorder:
        events = Recorder()
        await asyncio.wait_for(ConversationStream(REGION, session, events, **FAST).run(), TIMEOUT)
        return events

    assert run(scenario()).events == [ConversationEnded(ENDED_UNAUTHORIZED)]


def test_the_stream_uri_goes_through_the_guard(genesys):
    session = create(genesys)
    elsewhere = session.event_stream_uri.replace(str(genesys.port), str(genesys.port + 1), 1)

    with pytest.raises(errors.GenesysError, match="GENESYS_API_BASE_URL") as error:
        ConversationStream(REGION, replace(session, event_stream_uri=elsewhere), Recorder())

    assert session.event_stream_uri.rsplit("/", 1)[1] not in str(error.value)


def test_the_supervisor_starts_and_stops_streams(genesys, caplog):
    first, second, refused = create(genesys, "Ann"), create(genesys, "Bob"), create(genesys)
    refused = replace(refused, event_stream_uri="wss://evil.example/channels/x")

    async def scenario() -> list[tuple[str, Event]]:
        received: list[tuple[str, Event]] = []

        async def handler(key: str, event: Event) -> None:
            received.append((key, event))

        async with StreamSupervisor(handler, **FAST) as supervisor:
            wanted = {"a": (REGION, first), "b": (REGION, second), "c": (REGION, refused)}
            await supervisor.sync(wanted)
            assert set(supervisor.streams) == {"a", "b"}
            await until(lambda: genesys.state()["open_streams"] == 2, "two sockets")
            await act(genesys.agent_join, second.conversation_id, "Bea")
            await act(genesys.agent_send, second.conversation_id, "for Bob")
            await until(lambda: len(received) == 2, "Bob's events")

            del wanted["b"]
            await supervisor.sync(wanted)
            assert set(supervisor.streams) == {"a"}
            await until(lambda: genesys.state()["open_streams"] == 1, "one socket")

            await act(genesys.agent_join, first.conversation_id)
            await act(genesys.agent_leave, first.conversation_id, end_conversation=True)
            await until(lambda: ("a", ConversationEnded(ENDED_DISCONNECTED)) in received, "end")
            await supervisor.sync(wanted)  # ended: not started again while still wanted
            assert supervisor.streams == {}
            await asyncio.sleep(0.1)
            await supervisor.sync(wanted)
            assert supervisor.streams == {}
            assert len(genesys.requests("/channels/")) == 2
        return received

    received = run(scenario())

    assert [(key, type(event).__name__) for key, event in received] == [
        ("b", "AgentJoined"),
        ("b", "AgentMessage"),
        ("a", "AgentJoined"),
        ("a", "AgentLeft"),
        ("a", "ConversationEnded"),
    ]
    assert any("Refused to open the event stream" in r.getMessage() for r in caplog.records)
    assert genesys.state()["open_streams"] == 0


def test_the_supervisor_restarts_a_stream_whose_end_was_not_taken(genesys, caplog):
    session = create(genesys)
    cid = session.conversation_id

    async def scenario() -> list[Event]:
        received: list[Event] = []

        async def handler(key: str, event: Event) -> None:
            received.append(event)
            if isinstance(event, ConversationEnded) and len(received) < 4:
                raise RuntimeError("the database is down")

        async with StreamSupervisor(handler, **FAST) as supervisor:
            wanted = {"a": (REGION, session)}
            await supervisor.sync(wanted)
            await until(lambda: genesys.state()["open_streams"] == 1, "the socket")
            await act(genesys.agent_join, cid)
            await act(genesys.agent_leave, cid, end_conversation=True)
            await until(lambda: len(received) == 3, "the end")
            await asyncio.sleep(0.05)
            await supervisor.sync(wanted)  # the end failed: the stream starts again
            await until(lambda: len(received) == 4, "the end again")
            await supervisor.sync(wanted)  # taken this time: not started again
            assert supervisor.streams == {}
        return received

    received = run(scenario())

    # The new stream never saw the agent connected, so it reports only the end.
    assert [type(event) for event in received] == [
        AgentJoined,
        AgentLeft,
        ConversationEnded,
        ConversationEnded,
    ]
    assert any("restarts at the next sync" in r.getMessage() for r in caplog.records)


# The stream's reads go through the shared client (genesys.platform.async_http): the same
# retries as every Genesys call, so a passing 503 or 429 costs no reconnect.

GUEST = "/api/v2/webchat/guest/conversations"


@pytest.mark.parametrize(
    "fault", [{"status": 503}, {"status": 429, "retry_after": 0}, {"delay_seconds": 1.0}]
)
def test_a_passing_failure_of_a_read_is_retried_in_place_not_by_reconnecting(
    genesys, settings, fault
):
    settings.GENESYS_HTTP_READ_TIMEOUT = 0.3
    session = create(genesys)
    cid = session.conversation_id
    genesys.agent_join(cid, "Alex Agent")
    genesys.agent_send(cid, "hello")
    history = f"{GUEST}/{cid}/messages"
    genesys.add_fault(history, method="GET", times=1, **fault)

    async def scenario() -> int:
        events = Recorder()
        stream = ConversationStream(REGION, session, events, **FAST)
        task = start(stream)
        await until(lambda: events.texts() == ["hello"], "the message")
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return stream.connects

    connects = run(scenario())

    assert connects == 1
    assert len([r for r in genesys.requests(history) if r["path"] == history]) == 2


def test_a_429_longer_than_the_client_waits_delays_the_reconnect_by_its_retry_after(
    genesys, settings, caplog
):
    caplog.set_level(logging.INFO)
    settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS = 0.5
    session = create(genesys)
    cid = session.conversation_id
    genesys.add_fault(f"{GUEST}/{cid}/messages", method="GET", status=429, retry_after=1)

    async def scenario() -> ConversationStream:
        stream = ConversationStream(REGION, session, Recorder(), **FAST)
        task = start(stream)
        await connected(genesys, stream, 2)
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)
        return stream

    run(scenario())

    # FAST caps the backoff at 0.2 s: the wait is Genesys's Retry-After.
    [delay] = [
        float(r.getMessage().rsplit(" in ", 1)[1].removesuffix(" s"))
        for r in caplog.records
        if "reconnecting the event stream in" in r.getMessage()
    ]
    assert delay == 1.0


def test_reconnects_back_off_with_the_one_formula(genesys, monkeypatch):
    genesys.add_fault("/channels/", status=503, times=3)
    session = create(genesys)
    asked: list[tuple[int, float, float]] = []

    def backoff(attempt: int, *, base: float, cap: float) -> float:
        asked.append((attempt, base, cap))
        return 0.01

    monkeypatch.setattr(event_stream, "backoff_seconds", backoff)

    async def scenario() -> None:
        options = {**FAST, "max_connect_failures": 10}
        stream = ConversationStream(REGION, session, Recorder(), **options)
        task = start(stream)
        await connected(genesys, stream)
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)

    run(scenario())

    # The n-th failed connect in a row waits backoff(n), with the stream's base and cap.
    assert asked == [(1, 0.05, 0.2), (2, 0.05, 0.2), (3, 0.05, 0.2)]


def test_a_stream_that_connects_but_cannot_catch_up_backs_off_further_each_time(
    genesys, monkeypatch
):
    session = create(genesys)
    history = f"{GUEST}/{session.conversation_id}/messages"
    genesys.add_fault(history, method="GET", status=503, times=1000)
    asked: list[int] = []

    def backoff(attempt: int, *, base: float, cap: float) -> float:
        asked.append(attempt)
        return 0.01

    monkeypatch.setattr(event_stream, "backoff_seconds", backoff)

    async def scenario() -> None:
        stream = ConversationStream(REGION, session, Recorder(), **FAST)
        task = start(stream)
        await until(lambda: stream.connects >= 4, "4 connects")
        stream.stop()
        await asyncio.wait_for(task, TIMEOUT)

    run(scenario())

    # Each connect's history read failed (after its own retries): backoff(1), (2), (3)…,
    # not backoff(1) again and again as if each connect had held the stream.
    assert asked[:3] == [1, 2, 3]


def test_the_supervisor_lets_a_few_streams_connect_and_catch_up_at_once(genesys):
    """Thousands of streams starting together (the relay starting) come a few at a time:
    the next connects once one of those has caught up (its reads answered)."""
    sessions = [create(genesys, f"Guest {n}") for n in range(12)]
    genesys.add_fault(
        "/api/v2/webchat/guest/conversations/", method="GET", delay_seconds=1.5, for_seconds=60
    )

    async def scenario() -> tuple[int, int]:
        async def handler(key: str, event: Event) -> None:
            pass

        async with StreamSupervisor(handler, joining_at_once=3, **FAST) as supervisor:
            await supervisor.sync({str(n): (REGION, one) for n, one in enumerate(sessions)})
            await until(lambda: genesys.state()["open_streams"] >= 3, "the first three")
            await asyncio.sleep(0.5)  # within their catch-up (1.5 s a read)
            first = (await act(genesys.state))["open_streams"]
            deadline = time.monotonic() + 30
            while (await act(genesys.state))["open_streams"] < len(sessions):
                assert time.monotonic() < deadline, "not every stream connected"
                await asyncio.sleep(0.1)
            return first, (await act(genesys.state))["open_streams"]

    first, held = run(scenario())
    assert first == 3  # was 12: every stream connected at once
    assert held == len(sessions)
