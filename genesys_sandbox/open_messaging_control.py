"""The control API's Open Messaging part, under ``/sandbox/open-messaging/``.

Configure integrations (webhook URL and secret), act as the agent, list webhook attempts;
add Process Automation triggers; create and end conversations in bulk (scale tests).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from genesys_sandbox import open_messaging, process_automation
from genesys_sandbox.app_keys import OPEN_MESSAGING, STATE
from genesys_sandbox.errors import ApiError, optional_str, read_json_object, required_str
from genesys_sandbox.open_messaging_models import (
    MIN_WEBHOOK_SECRET_CHARS,
    TRIGGER_DATA_FORMATS,
    OmConversation,
    OpenIntegration,
    Trigger,
)
from genesys_sandbox.state import new_id, now_iso

PREFIX = "/sandbox/open-messaging"


async def put_integration(request: web.Request) -> web.Response:
    world = request.app[OPEN_MESSAGING]
    data = await read_json_object(request)
    integration_id = request.match_info["integration_id"]
    existing = world.integrations.get(integration_id)
    url = required_str(data, "webhook_url")
    if not url.startswith(("http://", "https://")):
        raise ApiError(400, message="webhook_url must be an http(s) URL.")
    secret = required_str(data, "webhook_secret")
    if len(secret) < MIN_WEBHOOK_SECRET_CHARS:
        raise ApiError(
            400,
            message=f"webhook_secret needs at least {MIN_WEBHOOK_SECRET_CHARS} characters.",
        )
    name = optional_str(data, "name") or (existing.name if existing else "Open Messaging")
    integration = OpenIntegration(
        integration_id,
        name,
        webhook_url=url,
        webhook_secret=secret,
        date_created=existing.date_created if existing else now_iso(),
    )
    world.integrations[integration_id] = integration
    return web.json_response(integration.summary())


async def get_integration(request: web.Request) -> web.Response:
    integration = request.app[OPEN_MESSAGING].integrations.get(request.match_info["integration_id"])
    if integration is None:
        raise ApiError(404, "not.found", "Integration not found")
    return web.json_response(integration.summary())


async def list_integrations(request: web.Request) -> web.Response:
    return web.json_response(
        [i.summary() for i in request.app[OPEN_MESSAGING].integrations.values()]
    )


def _conversation(request: web.Request) -> OmConversation:
    conversation = request.app[OPEN_MESSAGING].conversations.get(
        request.match_info["conversation_id"]
    )
    if conversation is None:
        raise ApiError(404, "not.found", "Conversation not found")
    return conversation


async def _optional_object(request: web.Request) -> dict[str, Any]:
    if not await request.read():
        return {}
    return await read_json_object(request)


async def list_conversations(request: web.Request) -> web.Response:
    conversations = request.app[OPEN_MESSAGING].conversations.values()
    return web.json_response([c.summary() for c in conversations])


async def get_conversation(request: web.Request) -> web.Response:
    return web.json_response(_conversation(request).summary())


async def agent_join(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    data = await _optional_object(request)
    name = optional_str(data, "name") or "Sandbox Agent"
    agent = await open_messaging.agent_join(request.app, conversation, name)
    return web.json_response(
        {"participant": agent.summary(), "conversation": conversation.summary()}
    )


async def agent_message(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    data = await read_json_object(request)
    content = data.get("content")
    if content is not None and not (
        isinstance(content, list) and all(isinstance(item, dict) for item in content)
    ):
        raise ApiError(400, message="content must be a list of objects.")
    text = optional_str(data, "text") or ""
    if not text and not content:
        raise ApiError(400, message="text or content is required.")
    message = await open_messaging.agent_send(request.app, conversation, text, content)
    return web.json_response({"id": message.id, "message": message.summary()}, status=201)


async def bot_message(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    data = await read_json_object(request)
    name = optional_str(data, "name") or "Sandbox In-Queue Flow"
    message = await open_messaging.bot_send(
        request.app, conversation, required_str(data, "text"), name
    )
    return web.json_response({"id": message.id, "message": message.summary()}, status=201)


async def agent_typing(request: web.Request) -> web.Response:
    event_id = await open_messaging.agent_typing(request.app, _conversation(request))
    return web.json_response({"id": event_id})


async def agent_leave(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    data = await _optional_object(request)
    end = data.get("end_conversation", False)
    if not isinstance(end, bool):
        raise ApiError(400, message="end_conversation must be true or false.")
    await open_messaging.agent_leave(request.app, conversation, end=end)
    return web.json_response(conversation.summary())


async def transfer(request: web.Request) -> web.Response:
    conversation = _conversation(request)
    data = await read_json_object(request)
    queue_name = required_str(data, "queue_name")
    queue = request.app[STATE].queue_by_name(queue_name)
    if queue is None:
        raise ApiError(400, message=f"No queue named {queue_name!r}.")
    await open_messaging.transfer(request.app, conversation, queue)
    return web.json_response(conversation.summary())


async def list_deliveries(request: web.Request) -> web.Response:
    conversation_id = request.query.get("conversation_id")
    return web.json_response(
        [
            d.as_json()
            for d in request.app[OPEN_MESSAGING].deliveries
            if conversation_id in (None, d.conversation_id)
        ]
    )


async def clear_deliveries(request: web.Request) -> web.Response:
    request.app[OPEN_MESSAGING].deliveries.clear()
    return web.Response(status=204)


async def bulk_conversations(request: web.Request) -> web.Response:
    """``{"integration_id", "user_ids": [...]}``: a waiting conversation per user, as the
    first inbound message would start it (without the message); their ids, in order."""
    data = await read_json_object(request)
    integration_id = required_str(data, "integration_id")
    integration = request.app[OPEN_MESSAGING].integrations.get(integration_id)
    if integration is None:
        raise ApiError(404, "not.found", "Integration not found")
    user_ids = data.get("user_ids")
    if not isinstance(user_ids, list) or not all(isinstance(u, str) and u for u in user_ids):
        raise ApiError(400, message="user_ids must be a list of strings.")
    ids = [
        open_messaging.start_conversation(
            request.app, integration, {"id": user_id, "idType": "Opaque"}
        ).id
        for user_id in user_ids
    ]
    return web.json_response({"conversation_ids": ids}, status=201)


async def bulk_agent_end(request: web.Request) -> web.Response:
    """``{"conversation_ids": [...], "announce_join": true}``: in each, an agent joins (if
    none is there) and ends the conversation. With ``announce_join`` false the join is not
    published (as if its notification came before anyone subscribed): one participant change
    per conversation, the end, instead of two."""
    data = await read_json_object(request)
    ids = data.get("conversation_ids")
    if not isinstance(ids, list):
        raise ApiError(400, message="conversation_ids must be a list.")
    announce = data.get("announce_join", True)
    if not isinstance(announce, bool):
        raise ApiError(400, message="announce_join must be true or false.")
    conversations = request.app[OPEN_MESSAGING].conversations
    ended = 0
    for conversation_id in ids:
        conversation = conversations.get(str(conversation_id))
        if conversation is None or not conversation.open:
            continue
        if conversation.connected("agent") is None:
            if announce:
                await open_messaging.agent_join(request.app, conversation, "Sandbox Agent")
            else:
                open_messaging.connect_agent(conversation, "Sandbox Agent")
        await open_messaging.agent_leave(request.app, conversation, end=True)
        ended += 1
    return web.json_response({"ended": ended})


def _object_list(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ApiError(400, message=f"{name} must be a list of objects.")
    return value


async def add_trigger(request: web.Request) -> web.Response:
    """A Process Automation trigger (``CreateTriggerRequest`` in snake_case), with the
    sandbox's ``fire_url`` and ``fire_headers`` (what its workflow's data action sends)."""
    data = await read_json_object(request)
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ApiError(400, message="enabled must be true or false.")
    data_format = optional_str(data, "data_format") or "TopLevelPrimitives"
    if data_format not in TRIGGER_DATA_FORMATS:
        raise ApiError(400, message=f"data_format must be one of {TRIGGER_DATA_FORMATS}.")
    fire_url = optional_str(data, "fire_url")
    if fire_url is not None and not fire_url.startswith(("http://", "https://")):
        raise ApiError(400, message="fire_url must be an http(s) URL.")
    headers = data.get("fire_headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ApiError(400, message="fire_headers must map strings to strings.")
    trigger = Trigger(
        id=new_id(),
        name=required_str(data, "name"),
        topic_name=optional_str(data, "topic_name") or process_automation.CUSTOMER_END_TOPIC,
        workflow_id=optional_str(data, "workflow_id") or new_id(),
        enabled=enabled,
        data_format=data_format,
        match_criteria=_object_list(data, "match_criteria"),
        description=optional_str(data, "description") or "",
        fire_url=fire_url,
        fire_headers=headers,
    )
    request.app[OPEN_MESSAGING].triggers[trigger.id] = trigger
    return web.json_response(trigger.as_api(), status=201)


async def list_trigger_firings(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPEN_MESSAGING].trigger_firings)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(PREFIX + "/integrations", list_integrations)
    r.add_put(PREFIX + "/integrations/{integration_id}", put_integration)
    r.add_get(PREFIX + "/integrations/{integration_id}", get_integration)
    r.add_get(PREFIX + "/conversations", list_conversations)
    r.add_post(PREFIX + "/conversations", bulk_conversations)
    r.add_post(PREFIX + "/agents/end", bulk_agent_end)
    r.add_post("/sandbox/process-automation/triggers", add_trigger)
    r.add_get("/sandbox/process-automation/firings", list_trigger_firings)
    conversation = PREFIX + "/conversations/{conversation_id}"
    r.add_get(conversation, get_conversation)
    r.add_post(conversation + "/agent/join", agent_join)
    r.add_post(conversation + "/agent/messages", agent_message)
    r.add_post(conversation + "/agent/typing", agent_typing)
    r.add_post(conversation + "/bot-message", bot_message)
    r.add_post(conversation + "/agent/leave", agent_leave)
    r.add_post(conversation + "/transfer", transfer)
    r.add_get(PREFIX + "/deliveries", list_deliveries)
    r.add_delete(PREFIX + "/deliveries", clear_deliveries)
