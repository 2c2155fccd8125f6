"""The web chat event stream: WebSockets per conversation, heartbeats and event frames."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, web

from genesys_sandbox.state import Conversation, Member, Message, new_id, now_iso

HEARTBEAT_FRAME = {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
HEARTBEAT_TICK_SECONDS = 0.05


class EventStreams:
    """Open sockets by conversation (or notification channel) id.

    Events go only to sockets open at the time (no replay)."""

    def __init__(self) -> None:
        self.sockets: dict[str, set[web.WebSocketResponse]] = {}

    def add(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        self.sockets.setdefault(conversation_id, set()).add(ws)

    def remove(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self.sockets.get(conversation_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self.sockets[conversation_id]

    def count(self) -> int:
        return sum(len(sockets) for sockets in self.sockets.values())

    def counts(self) -> dict[str, int]:
        """Open sockets per conversation (or channel) id: who holds what, how often."""
        return {key: len(sockets) for key, sockets in self.sockets.items() if sockets}

    async def publish(self, conversation_id: str, frame: dict[str, Any]) -> None:
        for ws in list(self.sockets.get(conversation_id, ())):
            if ws.closed:
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json(frame)

    async def close(self, key: str) -> None:
        """Close the sockets under ``key`` (a channel Genesys removed)."""
        for ws in list(self.sockets.pop(key, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"Channel removed")

    async def close_all(self) -> int:
        sockets = [ws for group in self.sockets.values() for ws in group]
        self.sockets.clear()
        for ws in sockets:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"Stream closed")
        return len(sockets)

    # Frames, as documented for the web chat v2 event stream.

    async def message(self, conversation: Conversation, message: Message) -> None:
        await self.publish(
            conversation.id,
            _frame(conversation, "messages", "message", message.as_json()),
        )

    async def typing(self, conversation: Conversation, sender: Member) -> None:
        body = {
            "id": new_id(),
            "conversation": {"id": conversation.id},
            "sender": {"id": sender.id},
            "timestamp": now_iso(),
        }
        await self.publish(
            conversation.id, _frame(conversation, "messages", "typing-indicator", body)
        )

    async def member_change(self, conversation: Conversation, member: Member) -> None:
        body = {
            "conversation": {"id": conversation.id},
            "member": {"id": member.id, "state": member.state},
            "timestamp": now_iso(),
        }
        await self.publish(conversation.id, _frame(conversation, "members", "member-change", body))


def _frame(
    conversation: Conversation, topic: str, event_type: str, body: dict[str, Any]
) -> dict[str, Any]:
    return {
        "topicName": f"v2.conversations.chats.{conversation.id}.{topic}",
        "version": "2",
        "eventBody": body,
        "metadata": {"CorrelationId": new_id(), "type": event_type},
    }


async def serve_stream(
    request: web.Request,
    streams: EventStreams,
    key: str,
    heartbeat_seconds: Callable[[], float],
) -> web.WebSocketResponse:
    """Hold one socket open under ``key`` (a conversation or notification channel id),
    sending heartbeats, until either side closes it."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    streams.add(key, ws)

    async def heartbeats() -> None:
        last = time.monotonic()
        while not ws.closed:
            await asyncio.sleep(HEARTBEAT_TICK_SECONDS)
            # Read the period each tick so that PUT /sandbox/settings applies at once.
            if time.monotonic() - last >= heartbeat_seconds():
                last = time.monotonic()
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json(HEARTBEAT_FRAME)

    task = asyncio.create_task(heartbeats())
    try:
        async for _ in ws:
            pass  # Genesys ignores what clients send on this socket.
    finally:
        task.cancel()
        streams.remove(key, ws)
    return ws
