"""The Notifications API: channels, topic subscriptions and the channel WebSocket.

Only conversation topics are served: ``v2.conversations.{id}`` (documented) and the alias
``v2.conversations.messages.{id}``; both carry the conversation on every participant change.
Genesys's limits hold: at most ``MAX_TOPICS`` topics a channel (400 past it), and at most
``channel_limit`` (20) channels per OAuth client: creating one more removes the least
recently used, those without an open socket first (the SDK's ``post_notifications_channels``),
closing its socket.
"""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from genesys_sandbox import webchat
from genesys_sandbox.app_keys import NOTIFICATION_STREAMS, OPEN_MESSAGING, STATE
from genesys_sandbox.errors import ApiError, read_json
from genesys_sandbox.events import serve_stream
from genesys_sandbox.oauth import authorize
from genesys_sandbox.open_messaging_models import NotificationChannel, OmConversation
from genesys_sandbox.state import new_id

CHANNELS_PREFIX = "/api/v2/notifications/channels"
TOPIC_PATTERN = re.compile(r"^v2\.conversations\.(?:messages\.)?([0-9A-Za-z-]{1,64})$")
MAX_TOPICS = 1000


def _channel_json(request: web.Request, channel: NotificationChannel) -> dict[str, Any]:
    scheme = "wss" if request.secure else "ws"
    return {
        "connectUri": f"{scheme}://{request.host}/channels/{channel.id}",
        "id": channel.id,
        "expires": channel.expires,
    }


def _topics_json(channel: NotificationChannel) -> dict[str, Any]:
    # ChannelTopicEntityListing
    return {
        "entities": [
            {"id": topic, "selfUri": f"{CHANNELS_PREFIX}/{channel.id}/subscriptions"}
            for topic in channel.topics
        ]
    }


def _channel(request: web.Request) -> NotificationChannel:
    channel = request.app[OPEN_MESSAGING].channels.get(request.match_info["channel_id"])
    if channel is None or channel.expires_at <= time.time():
        raise ApiError(404, "not.found", "Channel not found")
    return channel


async def _topics_from_body(request: web.Request) -> list[str]:
    data = await read_json(request)
    if not isinstance(data, list):
        raise ApiError(400, message='The body must be a list of topics ({"id": …}).')
    topics: list[str] = []
    for item in data:
        topic = item.get("id") if isinstance(item, dict) else None
        if not isinstance(topic, str) or not TOPIC_PATTERN.match(topic):
            raise ApiError(
                400,
                "notification.invalid.topic",
                f"Invalid topic: {topic!r}. The sandbox serves v2.conversations.{{id}}.",
            )
        if topic not in topics:
            topics.append(topic)
    return topics


async def _make_room(app: web.Application, client_id: str) -> None:
    """Below the client's channel limit: remove what Genesys would (expired channels, then the
    least recently used, unconnected first), closing their sockets."""
    world, streams = app[OPEN_MESSAGING], app[NOTIFICATION_STREAMS]
    now = time.time()
    for channel_id in [cid for cid, c in world.channels.items() if c.expires_at <= now]:
        del world.channels[channel_id]
        await streams.close(channel_id)
    mine = [c for c in world.channels.values() if c.client_id == client_id]
    connected = streams.counts()
    while mine and len(mine) >= world.channel_limit:
        oldest = min(mine, key=lambda c: (c.id in connected, c.last_used))
        mine.remove(oldest)
        del world.channels[oldest.id]
        world.channels_evicted += 1
        await streams.close(oldest.id)


async def create_channel(request: web.Request) -> web.Response:
    client = authorize(request, None)
    await _make_room(request.app, client.client_id)
    channel = NotificationChannel(
        f"streaming-0-{new_id().replace('-', '')}", client_id=client.client_id
    )
    request.app[OPEN_MESSAGING].channels[channel.id] = channel
    return web.json_response(_channel_json(request, channel))


def _set_topics(channel: NotificationChannel, topics: list[str]) -> None:
    if len(topics) > MAX_TOPICS:
        raise ApiError(
            400, "notification.too.many.topics", f"A channel holds at most {MAX_TOPICS} topics."
        )
    channel.set_topics(topics)


async def put_subscriptions(request: web.Request) -> web.Response:
    authorize(request, None)
    channel = _channel(request)
    _set_topics(channel, await _topics_from_body(request))
    return web.json_response(_topics_json(channel))


async def post_subscriptions(request: web.Request) -> web.Response:
    authorize(request, None)
    channel = _channel(request)
    added = [t for t in await _topics_from_body(request) if t not in channel.topic_set]
    _set_topics(channel, channel.topics + added)
    return web.json_response(_topics_json(channel))


async def get_subscriptions(request: web.Request) -> web.Response:
    authorize(request, None)
    return web.json_response(_topics_json(_channel(request)))


async def delete_subscriptions(request: web.Request) -> web.Response:
    authorize(request, None)
    _channel(request).set_topics([])
    return web.Response(status=204)


async def channel_socket(request: web.Request) -> web.StreamResponse:
    """``/channels/{id}``: a notification channel, or else a web chat event stream."""
    channel_id = request.match_info["channel_id"]
    channel = request.app[OPEN_MESSAGING].channels.get(channel_id)
    if channel is None:
        return await webchat.event_stream(request)
    state = request.app[STATE]
    channel.last_used = time.time()
    return await serve_stream(
        request, request.app[NOTIFICATION_STREAMS], channel.id, lambda: state.heartbeat_seconds
    )


async def publish_conversation(app: web.Application, conversation: OmConversation) -> None:
    """Send the conversation to every channel subscribed to it (a participant changed)."""
    body = conversation.as_event()
    streams = app[NOTIFICATION_STREAMS]
    topics = (f"v2.conversations.{conversation.id}", f"v2.conversations.messages.{conversation.id}")
    for channel in list(app[OPEN_MESSAGING].channels.values()):
        for topic in topics:
            if topic in channel.topic_set:
                frame = {
                    "topicName": topic,
                    "version": "2",
                    "eventBody": body,
                    "metadata": {"CorrelationId": new_id()},
                }
                await streams.publish(channel.id, frame)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(CHANNELS_PREFIX, create_channel)
    subscriptions = CHANNELS_PREFIX + "/{channel_id}/subscriptions"
    r.add_put(subscriptions, put_subscriptions)
    r.add_post(subscriptions, post_subscriptions)
    r.add_get(subscriptions, get_subscriptions)
    r.add_delete(subscriptions, delete_subscriptions)
    r.add_get("/channels/{channel_id}", channel_socket)
