"""One Notifications API channel for many Open Messaging conversations
(``genesys.open_messaging.notifications``); the relay's use of it end to end is in ``tests/e2e``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from genesys.open_messaging import client as open_messaging
from genesys.open_messaging import notifications
from genesys.platform import errors
from genesys.platform.regions import get_region
from tests.factories import OAuth2ConnectionFactory

QUEUED = {
    "participants": [
        {"id": "c", "purpose": "customer", "state": "connected"},
        {"id": "q", "purpose": "acd", "state": "connected"},
    ]
}


def channel_recording(seen: list[str], *, fail: set[str] = frozenset()):
    async def on_participants(conversation_id: str, participants: Any) -> str:
        if conversation_id in fail:
            raise RuntimeError("the database said no")
        seen.append(conversation_id)
        return ""

    async def on_abandoned(conversation_id: str) -> None:
        pass

    return notifications.NotificationChannel(
        get_region("mypurecloud.de"), OAuth2ConnectionFactory.build(), on_participants, on_abandoned
    )


def test_a_conversation_that_cannot_be_read_is_set_aside_not_the_others(monkeypatch):
    def get_conversation(client: Any, conversation_id: str) -> dict[str, Any]:
        if conversation_id == "a-forbidden":
            raise errors.GenesysPermissionError("Genesys Cloud refused the lookup (403)")
        return QUEUED

    monkeypatch.setattr(open_messaging, "get_conversation", get_conversation)
    seen: list[str] = []
    channel = channel_recording(seen)
    channel.watch({"a-forbidden", "b-fine"})

    asyncio.run(channel._catch_up({"a-forbidden", "b-fine"}))

    assert seen == ["b-fine"]
    assert channel._unread == {"a-forbidden"}  # read again later


def test_a_conversation_whose_recording_fails_is_set_aside_not_the_others(monkeypatch):
    monkeypatch.setattr(open_messaging, "get_conversation", lambda client, cid: QUEUED)
    seen: list[str] = []
    channel = channel_recording(seen, fail={"a-poison"})
    channel.watch({"a-poison", "b-fine"})

    asyncio.run(channel._catch_up({"a-poison", "b-fine"}))

    assert seen == ["b-fine"]
    assert channel._unread == {"a-poison"}


def test_an_error_of_the_whole_channel_still_reconnects(monkeypatch):
    def get_conversation(client: Any, conversation_id: str) -> dict[str, Any]:
        raise errors.GenesysUnavailable("Genesys Cloud failed the lookup: 503")

    monkeypatch.setattr(open_messaging, "get_conversation", get_conversation)
    channel = channel_recording([])
    channel.watch({"a"})
    with pytest.raises(errors.GenesysUnavailable):  # run() reconnects, then catches up
        asyncio.run(channel._catch_up({"a"}))


def test_reconnects_back_off_with_the_one_formula_and_a_429_waits_its_retry_after(monkeypatch):
    channel = channel_recording([])
    rate_limited = errors.GenesysRateLimited("Genesys Cloud refused the channel creation (429)")
    rate_limited.retry_after = 45.0
    unavailable = errors.GenesysUnavailable("Genesys Cloud failed the channel creation: 503")
    # Three failures in a row, a channel held until it closed, then a failure again.
    outcomes = iter([unavailable, unavailable, rate_limited, None, unavailable])
    waits: list[float] = []

    async def hold(http: Any) -> None:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 5:
            raise asyncio.CancelledError

    monkeypatch.setattr(channel, "_hold", hold)
    monkeypatch.setattr(notifications.asyncio, "sleep", sleep)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(channel.run())

    # 1 s base, 30 s cap: the n-th failure in a row waits backoff(n) (jittered down to half
    # its ceiling), the 429 its Retry-After, longer than its backoff; a channel held and
    # then lost starts again at backoff(1).
    assert waits[2] == 45.0
    for wait, ceiling in zip(waits[:2] + waits[3:], [1.0, 2.0, 1.0, 1.0], strict=True):
        assert ceiling / 2 <= wait <= ceiling
