"""The control API under ``/sandbox/``: shape the world, inject faults, act as the agent.

JSON in and out, no authentication; meant for tests and the console, never for Genesys
clients. Its requests are not logged.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from genesys_sandbox import webchat
from genesys_sandbox.app_keys import NOTIFICATION_STREAMS, OPEN_MESSAGING, STATE, STREAMS, WEBHOOKS
from genesys_sandbox.errors import (
    ApiError,
    optional_int,
    optional_number,
    optional_str,
    read_json_object,
    required_str,
)
from genesys_sandbox.state import (
    DEFAULT_TOKEN_TTL_SECONDS,
    Conversation,
    Fault,
    OAuthClient,
    Queue,
)

FAULT_STATUSES = (400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504)


def _ok(data: Any = None, status: int = 200) -> web.Response:
    return web.json_response({"ok": True} if data is None else data, status=status)


async def _optional_object(request: web.Request) -> dict[str, Any]:
    """The JSON object body, or {} when the body is empty."""
    if not await request.read():
        return {}
    return await read_json_object(request)


async def reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    await request.app[WEBHOOKS].reset()
    request.app[OPEN_MESSAGING].reset()
    await request.app[STREAMS].close_all()
    await request.app[NOTIFICATION_STREAMS].close_all()
    return _ok()


async def state_summary(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return _ok(
        {
            "organization_id": state.organization_id,
            "deployment_id": state.deployment_id,
            "heartbeat_seconds": state.heartbeat_seconds,
            "clients": [client.summary() for client in state.clients.values()],
            "queues": [queue.summary() for queue in state.queues.values()],
            "conversations": [c.summary() for c in state.conversations.values()],
            "faults": [fault.summary() for fault in state.faults],
            "open_streams": request.app[STREAMS].count(),
            "open_streams_by_conversation": request.app[STREAMS].counts(),
            "open_notification_sockets": request.app[NOTIFICATION_STREAMS].count(),
            "notification_channels": [
                {
                    "id": channel.id,
                    "client_id": channel.client_id,
                    "topics": len(channel.topics),
                    "connected": request.app[NOTIFICATION_STREAMS].counts().get(channel.id, 0),
                }
                for channel in request.app[OPEN_MESSAGING].channels.values()
            ],
            "notification_channels_evicted": request.app[OPEN_MESSAGING].channels_evicted,
            "open_integrations": [
                i.summary() for i in request.app[OPEN_MESSAGING].integrations.values()
            ],
        }
    )


async def put_settings(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = await read_json_object(request)
    if "heartbeat_seconds" in data:
        heartbeat = optional_number(data, "heartbeat_seconds", state.heartbeat_seconds)
        if heartbeat <= 0:
            raise ApiError(400, message="heartbeat_seconds must be positive.")
        state.heartbeat_seconds = heartbeat
    for name in ("organization_id", "deployment_id"):
        if name in data:
            setattr(state, name, required_str(data, name))
    world = request.app[OPEN_MESSAGING]
    if "webhook_retries" in data:
        world.webhook_retries = optional_int(data, "webhook_retries", 0) or 0
    if "webhook_backoff_seconds" in data:
        world.webhook_backoff_seconds = optional_number(data, "webhook_backoff_seconds", 0.2)
    if "open_messaging_dedupe" in data:
        if not isinstance(data["open_messaging_dedupe"], bool):
            raise ApiError(400, message="open_messaging_dedupe must be true or false.")
        world.dedupe = data["open_messaging_dedupe"]
    if "notification_channel_limit" in data:
        limit = optional_int(data, "notification_channel_limit", world.channel_limit, minimum=1)
        world.channel_limit = limit or world.channel_limit
    if "transfer_gap_seconds" in data:
        world.transfer_gap_seconds = optional_number(
            data, "transfer_gap_seconds", world.transfer_gap_seconds
        )
    return _ok(
        {
            "heartbeat_seconds": state.heartbeat_seconds,
            "webhook_retries": world.webhook_retries,
            "webhook_backoff_seconds": world.webhook_backoff_seconds,
            "open_messaging_dedupe": world.dedupe,
            "transfer_gap_seconds": world.transfer_gap_seconds,
            "notification_channel_limit": world.channel_limit,
            "organization_id": state.organization_id,
            "deployment_id": state.deployment_id,
        }
    )


async def put_client(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    permissions = data.get("permissions")
    if permissions is not None and (
        not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions)
    ):
        raise ApiError(400, message="permissions must be a list of strings or null.")
    client = OAuthClient(
        client_id=request.match_info["client_id"],
        client_secret=required_str(data, "client_secret"),
        token_ttl_seconds=optional_int(
            data, "token_ttl_seconds", DEFAULT_TOKEN_TTL_SECONDS, minimum=1
        )
        or DEFAULT_TOKEN_TTL_SECONDS,
        permissions=permissions,
    )
    request.app[STATE].clients[client.client_id] = client
    return _ok(client.summary())


async def delete_client(request: web.Request) -> web.Response:
    if request.app[STATE].clients.pop(request.match_info["client_id"], None) is None:
        raise ApiError(404, "not.found", "OAuth client not found")
    return web.Response(status=204)


async def expire_tokens(request: web.Request) -> web.Response:
    request.app[STATE].expire_tokens()
    return _ok()


async def put_queue(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    queue_id = request.match_info["queue_id"]
    existing = request.app[STATE].queues.get(queue_id)
    defaults = existing or Queue(queue_id, "")
    on_queue = optional_int(data, "agents_on_queue", defaults.agents_on_queue)
    idle = optional_int(data, "agents_idle", defaults.agents_idle)
    not_responding = optional_int(data, "agents_not_responding", defaults.agents_not_responding)
    if (idle or 0) + (not_responding or 0) > (on_queue or 0):
        raise ApiError(400, message="agents_idle + agents_not_responding > agents_on_queue.")
    queue = Queue(
        id=queue_id,
        name=optional_str(data, "name") or defaults.name or "",
        agents_on_queue=on_queue or 0,
        agents_idle=idle or 0,
        agents_not_responding=not_responding or 0,
        conversations_waiting=optional_int(
            data, "conversations_waiting", defaults.conversations_waiting
        )
        or 0,
        estimated_wait_seconds=optional_int(
            data, "estimated_wait_seconds", defaults.estimated_wait_seconds
        ),
        date_created=defaults.date_created,
    )
    if not queue.name:
        raise ApiError(400, message="name is required.")
    request.app[STATE].queues[queue_id] = queue
    return _ok(queue.summary())


async def delete_queue(request: web.Request) -> web.Response:
    if request.app[STATE].queues.pop(request.match_info["queue_id"], None) is None:
        raise ApiError(404, "not.found", "Queue not found")
    return web.Response(status=204)


async def add_fault(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    method = optional_str(data, "method")
    status = optional_int(data, "status", None)
    if status is not None and status not in FAULT_STATUSES:
        raise ApiError(400, message=f"status must be one of {FAULT_STATUSES}.")
    for_seconds = data.get("for_seconds")
    fault = Fault(
        path_prefix=required_str(data, "path_prefix"),
        method=method.upper() if method else None,
        status=status,
        retry_after=optional_int(data, "retry_after", None),
        delay_seconds=optional_number(data, "delay_seconds", 0.0),
        times=optional_int(data, "times", 1, minimum=1) or 1,
        until=None
        if for_seconds is None
        else time.monotonic() + optional_number(data, "for_seconds", 0.0),
    )
    if fault.status is None and not fault.delay_seconds:
        raise ApiError(400, message="A fault needs a status, a delay_seconds, or both.")
    request.app[STATE].faults.append(fault)
    return _ok(fault.summary(), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return web.Response(status=204)


async def drop_streams(request: web.Request) -> web.Response:
    closed = await request.app[STREAMS].close_all()
    closed += await request.app[NOTIFICATION_STREAMS].close_all()
    return _ok({"closed": closed})


async def list_requests(request: web.Request) -> web.Response:
    prefix = request.query.get("path_prefix", "")
    return _ok(
        [
            entry.as_json()
            for entry in request.app[STATE].request_log
            if entry.path.startswith(prefix)
        ]
    )


async def count_requests(request: web.Request) -> web.Response:
    method = request.query.get("method")
    count = request.app[STATE].request_count(
        request.query.get("path_prefix", ""), method.upper() if method else None
    )
    return _ok({"count": count})


async def clear_requests(request: web.Request) -> web.Response:
    request.app[STATE].request_log.clear()
    request.app[STATE].request_counts.clear()
    return web.Response(status=204)


# Conversations and the agent side


def _conversation(request: web.Request) -> Conversation:
    conversation = request.app[STATE].conversations.get(request.match_info["conversation_id"])
    if conversation is None:
        raise ApiError(404, "not.found", "Conversation not found")
    return conversation


async def list_conversations(request: web.Request) -> web.Response:
    return _ok([c.summary() for c in request.app[STATE].conversations.values()])


async def get_conversation(request: web.Request) -> web.Response:
    return _ok(_conversation(request).summary())


async def agent_join(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    data = await _optional_object(request)
    name = optional_str(data, "name") or "Sandbox Agent"
    agent = await webchat.agent_join(request.app, conversation, name)
    return _ok({"member": agent.info(), "conversation": conversation.summary()})


async def agent_message(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    data = await read_json_object(request)
    body = required_str(data, "body")
    body_type = optional_str(data, "bodyType") or "standard"
    if body_type not in webchat.BODY_TYPES:
        raise ApiError(400, message=f"bodyType must be one of {', '.join(webchat.BODY_TYPES)}.")
    agent = conversation.connected_agent()
    if agent is None:
        raise ApiError(409, "conflict", "No agent is connected to this conversation.")
    message = await webchat.send_message(request.app, conversation, agent, body, body_type)
    return _ok({"id": message.id, "message": message.as_json()}, status=201)


async def agent_typing(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    agent = conversation.connected_agent()
    if agent is None:
        raise ApiError(409, "conflict", "No agent is connected to this conversation.")
    await request.app[STREAMS].typing(conversation, agent)
    return _ok()


async def agent_leave(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    data = await _optional_object(request)
    end_conversation = data.get("end_conversation", False)
    if not isinstance(end_conversation, bool):
        raise ApiError(400, message="end_conversation must be true or false.")
    await webchat.agent_leave(request.app, conversation, end_conversation=end_conversation)
    return _ok(conversation.summary())


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/sandbox/reset", reset)
    r.add_get("/sandbox/state", state_summary)
    r.add_put("/sandbox/settings", put_settings)
    r.add_put("/sandbox/oauth-clients/{client_id}", put_client)
    r.add_delete("/sandbox/oauth-clients/{client_id}", delete_client)
    r.add_post("/sandbox/tokens/expire", expire_tokens)
    r.add_put("/sandbox/queues/{queue_id}", put_queue)
    r.add_delete("/sandbox/queues/{queue_id}", delete_queue)
    r.add_post("/sandbox/faults", add_fault)
    r.add_delete("/sandbox/faults", clear_faults)
    r.add_post("/sandbox/faults/drop-streams", drop_streams)
    r.add_get("/sandbox/requests", list_requests)
    r.add_get("/sandbox/requests/count", count_requests)
    r.add_delete("/sandbox/requests", clear_requests)
    r.add_get("/sandbox/conversations", list_conversations)
    conversation = "/sandbox/conversations/{conversation_id}"
    r.add_get(conversation, get_conversation)
    r.add_post(conversation + "/agent/join", agent_join)
    r.add_post(conversation + "/agent/messages", agent_message)
    r.add_post(conversation + "/agent/typing", agent_typing)
    r.add_post(conversation + "/agent/leave", agent_leave)
