"""Open Messaging: the inbound API, the conversations API, and the agent's actions.

Inbound messages (user → Genesys) arrive over the real API with an OAuth token; the agent
(control API or console) answers, and each agent message or typing event is POSTed, signed,
to the integration's webhook (``webhooks.py``). Participant changes go to the Notifications
API (``notifications.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from genesys_sandbox import notifications, process_automation
from genesys_sandbox.app_keys import OPEN_MESSAGING, STATE, WEBHOOKS
from genesys_sandbox.errors import ApiError, optional_str, read_json_object
from genesys_sandbox.oauth import authorize
from genesys_sandbox.open_messaging_models import (
    ID_TYPES,
    P_DISCONNECTED,
    PURPOSE_ACD,
    PURPOSE_AGENT,
    PURPOSE_CUSTOMER,
    OmConversation,
    OmMessage,
    OmParticipant,
    OpenIntegration,
)
from genesys_sandbox.state import (
    ACTIVE,
    DEMO_QUEUE_ID,
    ENDED,
    WAITING,
    Queue,
    new_id,
    now_iso,
)
from genesys_sandbox.webhooks import make_delivery

INBOUND_PREFIX = "/api/v2/conversations/messages/{integration_id}/inbound/open"
PERMISSION_CREATE = "conversations:message:create"
PERMISSION_INTEGRATION_VIEW = "messaging:integration:view"
PERMISSION_CONVERSATION_VIEW = "conversation:message:view"
PERMISSION_DISCONNECT = "conversation:communication:disconnect"
TYPING_DURATION_MS = 5000
FROM_FIELDS = ("nickname", "firstName", "lastName", "email", "image")
RECEIPT_STATUSES = ("Sent", "Delivered", "Failed", "Published", "Removed")


# Lookups


def _integration(app: web.Application, integration_id: str) -> OpenIntegration:
    integration = app[OPEN_MESSAGING].integrations.get(integration_id)
    if integration is None:
        raise ApiError(404, "not.found", f"Open messaging integration {integration_id} not found")
    return integration


def _conversation(request: web.Request) -> OmConversation:
    conversation = request.app[OPEN_MESSAGING].conversations.get(
        request.match_info["conversation_id"]
    )
    if conversation is None:
        raise ApiError(404, "not.found", "Conversation not found")
    return conversation


def _default_queue(app: web.Application) -> Queue:
    queues = app[STATE].queues
    queue = queues.get(DEMO_QUEUE_ID) or next(iter(queues.values()), None)
    return queue or Queue(DEMO_QUEUE_ID, "Sandbox Support Queue")


# Inbound bodies

#: The integration's supported content profile in the sandbox (Genesys's default allows
#: common images, PDF and text; an administrator may allow more).
SUPPORTED_MIME_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "application/pdf", "text/plain"}
)
MEDIA_TYPES = ("Image", "Video", "Audio", "File", "Link")


def _inbound_content(content: Any) -> list[dict[str, Any]] | None:
    """``content``: attachments by URL (``OpenInboundMessageContent``), each of a type the
    supported content profile allows."""
    if content is None:
        return None
    if not isinstance(content, list):
        raise ApiError(400, message="content must be a list.")
    for item in content:
        attachment = item.get("attachment") if isinstance(item, dict) else None
        if not isinstance(attachment, dict):
            raise ApiError(400, message="content[] items must have an attachment object.")
        if attachment.get("mediaType") not in MEDIA_TYPES:
            raise ApiError(400, message=f"attachment.mediaType must be one of {MEDIA_TYPES}.")
        url = attachment.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiError(400, message="attachment.url must be an http(s) URL.")
        if attachment.get("mime") not in SUPPORTED_MIME_TYPES:
            raise ApiError(
                400,
                "messaging.content.type.not.supported",
                f"attachment.mime {attachment.get('mime')!r} is not in the supported content "
                "profile.",
            )
    return content


def _parse_from(channel: dict[str, Any]) -> dict[str, Any]:
    sender = channel.get("from")
    if not isinstance(sender, dict):
        raise ApiError(400, message="channel.from is required.")
    user_id = optional_str(sender, "id")
    if not user_id:
        raise ApiError(400, message="channel.from.id is required.")
    id_type = optional_str(sender, "idType")
    normalized = next((t for t in ID_TYPES if id_type and t.lower() == id_type.lower()), None)
    if normalized is None:
        raise ApiError(400, message=f"channel.from.idType must be one of {', '.join(ID_TYPES)}.")
    result: dict[str, Any] = {"id": user_id, "idType": normalized}
    for name in FROM_FIELDS:
        value = optional_str(sender, name)
        if value is not None:
            result[name] = value
    return result


def _parse_channel(data: dict[str, Any], *, message_id_required: bool) -> dict[str, Any]:
    channel = data.get("channel")
    if not isinstance(channel, dict):
        raise ApiError(400, message="channel is required.")
    parsed = {"from": _parse_from(channel)}
    message_id = optional_str(channel, "messageId")
    if message_id_required and not message_id:
        raise ApiError(400, message="channel.messageId is required.")
    parsed["messageId"] = message_id
    moment = optional_str(channel, "time")
    if not moment:
        raise ApiError(400, message="channel.time is required.")
    parsed["time"] = moment
    parsed["customAttributes"] = _custom_attributes(channel)
    return parsed


def _custom_attributes(channel: dict[str, Any]) -> dict[str, str]:
    """``channel.metadata.customAttributes``: an object of strings, or nothing."""
    metadata = channel.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ApiError(400, message="channel.metadata must be an object.")
    attributes = metadata.get("customAttributes")
    if attributes is None:
        return {}
    if not isinstance(attributes, dict) or not all(
        isinstance(value, str) for value in attributes.values()
    ):
        raise ApiError(
            400, message="channel.metadata.customAttributes must map strings to strings."
        )
    return dict(attributes)


def _channel_json(
    integration_id: str, to_id: str, sender: dict[str, Any], moment: str, message_id: str | None
) -> dict[str, Any]:
    """``OpenMessagingChannel``."""
    channel: dict[str, Any] = {
        "id": integration_id,
        "platform": "Open",
        "type": "Private",
        "to": {"id": to_id},
        "from": sender,
        "time": moment,
    }
    if message_id is not None:
        channel["messageId"] = message_id
    return channel


def _inbound_response(
    conversation: OmConversation, message: OmMessage, *, with_conversation_id: bool
) -> dict[str, Any]:
    """``OpenMessageNormalizedMessage``; ``conversationId`` only with prefetchConversationId."""
    body: dict[str, Any] = {
        "id": message.id,
        "channel": _channel_json(
            conversation.integration_id,
            conversation.integration_id,
            conversation.customer_from,
            message.time,
            message.provider_message_id,
        ),
        "type": "Text",
        "text": message.text,
        "direction": "Inbound",
    }
    if message.content:
        body["content"] = message.content
    if message.metadata:
        body["metadata"] = message.metadata
    if with_conversation_id:
        body["conversationId"] = conversation.id
    return body


# Actions (shared by the API and the control API)


async def _participants_changed(app: web.Application, conversation: OmConversation) -> None:
    await notifications.publish_conversation(app, conversation)


def start_conversation(
    app: web.Application, integration: OpenIntegration, sender: dict[str, Any]
) -> OmConversation:
    queue = _default_queue(app)
    customer = OmParticipant(
        new_id(),
        PURPOSE_CUSTOMER,
        sender.get("nickname") or sender["id"],
        address=sender["id"],
    )
    acd = OmParticipant(new_id(), PURPOSE_ACD, queue.name, queue_id=queue.id)
    conversation = OmConversation(
        id=new_id(),
        integration_id=integration.id,
        customer_from=sender,
        queue_id=queue.id,
        queue_name=queue.name,
        participants=[customer, acd],
    )
    app[OPEN_MESSAGING].conversations[conversation.id] = conversation
    return conversation


def _enqueue_webhook(
    app: web.Application, conversation: OmConversation, payload: dict[str, Any]
) -> None:
    integration = app[OPEN_MESSAGING].integrations.get(conversation.integration_id)
    app[WEBHOOKS].enqueue(
        make_delivery(
            conversation_id=conversation.id,
            payload=payload,
            url=integration.webhook_url if integration else None,
            secret=integration.webhook_secret if integration else None,
        )
    )


def _outbound_channel(
    conversation: OmConversation, agent: OmParticipant, message_id: str | None
) -> dict[str, Any]:
    sender = {"id": agent.user_id or agent.id, "idType": "Opaque", "nickname": agent.name}
    return _channel_json(
        conversation.integration_id, conversation.user_id, sender, now_iso(), message_id
    )


def _require_agent(conversation: OmConversation) -> OmParticipant:
    if conversation.state == ENDED:
        raise ApiError(409, "conflict", "The conversation has ended.")
    agent = conversation.connected(PURPOSE_AGENT)
    if agent is None:
        raise ApiError(409, "conflict", "No agent is connected to this conversation.")
    return agent


async def agent_join(
    app: web.Application, conversation: OmConversation, name: str
) -> OmParticipant:
    if conversation.state == ENDED:
        raise ApiError(409, "conflict", "The conversation has ended.")
    if conversation.connected(PURPOSE_AGENT) is not None:
        raise ApiError(409, "conflict", "An agent is already connected to this conversation.")
    _cancel_pending_transfer(app, conversation)
    agent = connect_agent(conversation, name)
    await _participants_changed(app, conversation)
    return agent


def connect_agent(conversation: OmConversation, name: str) -> OmParticipant:
    """The queue hands the conversation to an agent (the participants only; no notification)."""
    acd = conversation.connected(PURPOSE_ACD)
    if acd is not None:
        acd.disconnect("transfer")
    agent = OmParticipant(
        new_id(), PURPOSE_AGENT, name, queue_id=conversation.queue_id, user_id=new_id()
    )
    conversation.participants.append(agent)
    conversation.state = ACTIVE
    return agent


#: Content types that make an outbound message ``Structured`` rather than ``Text``.
STRUCTURED = frozenset({"QuickReply", "Card", "Carousel", "ListPicker", "DatePicker"})


async def agent_send(
    app: web.Application,
    conversation: OmConversation,
    text: str,
    content: list[dict[str, Any]] | None = None,
) -> OmMessage:
    """The agent sends a message: text, attachments (``Text`` with ``content``, maybe no
    text), or quick replies and cards (``Structured``), as Genesys delivers them."""
    agent = _require_agent(conversation)
    message = OmMessage(new_id(), agent.id, "Outbound", text, content=content or None)
    message.provider_message_id = message.id
    message.originating_entity = "Human"
    structured = any(item.get("contentType") in STRUCTURED for item in content or [])
    message.type = "Structured" if structured else "Text"
    conversation.messages.append(message)
    payload: dict[str, Any] = {
        "id": message.id,
        "channel": _outbound_channel(conversation, agent, message.id),
        "type": "Structured" if structured else "Text",
        "direction": "Outbound",
        "originatingEntity": "Human",
    }
    if text:
        payload["text"] = text
    if content:
        payload["content"] = content
    payload["channel"]["time"] = message.time
    _enqueue_webhook(app, conversation, payload)
    return message


async def bot_send(
    app: web.Application, conversation: OmConversation, text: str, name: str
) -> OmMessage:
    """An Architect bot or in-queue flow speaks (``originatingEntity: "Bot"``): allowed with
    or without an agent, never counted as an agent's answer."""
    if conversation.state == ENDED:
        raise ApiError(409, "conflict", "The conversation has ended.")
    speaker = conversation.connected(PURPOSE_ACD) or conversation.connected(PURPOSE_AGENT)
    message = OmMessage(
        new_id(), speaker.id if speaker else conversation.customer.id, "Outbound", text
    )
    message.provider_message_id = message.id
    message.originating_entity = "Bot"
    conversation.messages.append(message)
    sender = {"id": conversation.queue_id, "idType": "Opaque", "nickname": name}
    payload = {
        "id": message.id,
        "channel": _channel_json(
            conversation.integration_id, conversation.user_id, sender, message.time, message.id
        ),
        "type": "Text",
        "text": text,
        "direction": "Outbound",
        "originatingEntity": "Bot",
    }
    _enqueue_webhook(app, conversation, payload)
    return message


async def agent_typing(app: web.Application, conversation: OmConversation) -> str:
    agent = _require_agent(conversation)
    event_id = new_id()
    conversation.typing.append(
        {"participant_id": agent.id, "purpose": PURPOSE_AGENT, "at": now_iso()}
    )
    payload = {
        "id": event_id,
        "channel": _outbound_channel(conversation, agent, None),
        "type": "Event",
        "events": [
            {"eventType": "Typing", "typing": {"type": "On", "duration": TYPING_DURATION_MS}}
        ],
        "direction": "Outbound",
    }
    _enqueue_webhook(app, conversation, payload)
    return event_id


async def end_conversation(
    app: web.Application, conversation: OmConversation, disconnect_type: str
) -> None:
    """Disconnect everyone still connected; the conversation is over."""
    _cancel_pending_transfer(app, conversation)
    conversation.state = ENDED
    for participant in conversation.participants:
        if participant.state != P_DISCONNECTED:
            participant.disconnect(disconnect_type)
    await _participants_changed(app, conversation)
    process_automation.fire_customer_end(app, conversation)


async def agent_leave(app: web.Application, conversation: OmConversation, *, end: bool) -> None:
    agent = _require_agent(conversation)
    agent.disconnect("client")
    if end:
        await end_conversation(app, conversation, "peer")
        return
    await _requeue(app, conversation, conversation.queue_id, conversation.queue_name)


async def transfer(app: web.Application, conversation: OmConversation, queue: Queue) -> None:
    """As Genesys does it: first the agent's (or queue's) disconnect, a participant change
    with nobody connected on Genesys's side; then, ``transfer_gap_seconds`` later, the next
    queue's ACD participant, another change. An agent joining or the conversation ending
    within the gap cancels the second step."""
    if conversation.state == ENDED:
        raise ApiError(409, "conflict", "The conversation has ended.")
    _cancel_pending_transfer(app, conversation)
    for purpose in (PURPOSE_AGENT, PURPOSE_ACD):
        participant = conversation.connected(purpose)
        if participant is not None:
            participant.disconnect("transfer")
    conversation.queue_id, conversation.queue_name = queue.id, queue.name
    conversation.state = WAITING
    await _participants_changed(app, conversation)
    world = app[OPEN_MESSAGING]
    world.pending_transfers[conversation.id] = asyncio.create_task(
        _connect_queue_after_gap(app, conversation, queue, world.transfer_gap_seconds)
    )


async def _connect_queue_after_gap(
    app: web.Application, conversation: OmConversation, queue: Queue, gap_seconds: float
) -> None:
    await asyncio.sleep(gap_seconds)
    app[OPEN_MESSAGING].pending_transfers.pop(conversation.id, None)
    if conversation.open and conversation.connected(PURPOSE_AGENT) is None:
        await _requeue(app, conversation, queue.id, queue.name)


def _cancel_pending_transfer(app: web.Application, conversation: OmConversation) -> None:
    task = app[OPEN_MESSAGING].pending_transfers.pop(conversation.id, None)
    if task is not None and task is not asyncio.current_task():
        task.cancel()


async def _requeue(
    app: web.Application, conversation: OmConversation, queue_id: str, queue_name: str
) -> None:
    """Back to waiting on a queue: a new ACD participant, as Genesys adds on a transfer."""
    conversation.queue_id, conversation.queue_name = queue_id, queue_name
    conversation.participants.append(
        OmParticipant(new_id(), PURPOSE_ACD, queue_name, queue_id=queue_id)
    )
    conversation.state = WAITING
    await _participants_changed(app, conversation)


# The real API


async def get_integration(request: web.Request) -> web.Response:
    authorize(request, PERMISSION_INTEGRATION_VIEW)
    integration = _integration(request.app, request.match_info["integration_id"])
    return web.json_response(integration.as_api())


async def inbound_message(request: web.Request) -> web.Response:
    authorize(request, PERMISSION_CREATE)
    integration = _integration(request.app, request.match_info["integration_id"])
    data = await read_json_object(request)
    channel = _parse_channel(data, message_id_required=True)
    text = data.get("text")
    content = _inbound_content(data.get("content"))
    if not isinstance(text, str) or (not text and not content):
        raise ApiError(400, message="text is required.")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ApiError(400, message="metadata must be an object.")
    prefetch = request.query.get("prefetchConversationId", "").lower() == "true"
    world = request.app[OPEN_MESSAGING]
    sender = channel["from"]
    # The same messageId from the same user is stored once and answers the same message
    # (unless turned off: Genesys documents no such deduplication).
    existing = (
        world.find_inbound(integration.id, sender["id"], channel["messageId"])
        if world.dedupe
        else None
    )
    if existing is not None:
        conversation, message = existing
        return web.json_response(
            _inbound_response(conversation, message, with_conversation_id=prefetch)
        )
    conversation = world.open_conversation(integration.id, sender["id"])
    if conversation is None:
        conversation = start_conversation(request.app, integration, sender)
        await _participants_changed(request.app, conversation)
    message = OmMessage(
        new_id(),
        conversation.customer.id,
        "Inbound",
        text,
        provider_message_id=channel["messageId"],
        time=channel["time"],
        content=content or None,
        metadata=metadata or None,
        custom_attributes=channel["customAttributes"] or None,
    )
    # Participant data: each message's attributes set (or overwrite) the customer's.
    conversation.custom_attributes.update(channel["customAttributes"])
    conversation.messages.append(message)
    return web.json_response(
        _inbound_response(conversation, message, with_conversation_id=prefetch)
    )


#: ``ContentButtonResponse.type``: what the user pressed.
BUTTON_RESPONSE_TYPES = ("Button", "QuickReply", "DatePicker")


def _button_response(data: dict[str, Any]) -> dict[str, Any]:
    """``buttonResponse`` (``ContentButtonResponse``): ``type``, ``text``, ``payload``."""
    button = data.get("buttonResponse")
    if not isinstance(button, dict):
        raise ApiError(400, message="buttonResponse is required.")
    if button.get("type") not in BUTTON_RESPONSE_TYPES:
        raise ApiError(
            400, message=f"buttonResponse.type must be one of {', '.join(BUTTON_RESPONSE_TYPES)}."
        )
    for name in ("text", "payload"):
        if not isinstance(button.get(name), str) or not button[name]:
            raise ApiError(400, message=f"buttonResponse.{name} is required.")
    return {name: button[name] for name in ("type", "text", "payload")}


async def inbound_structured_response(request: web.Request) -> web.Response:
    """``POST …/inbound/open/structured/response`` (``OpenInboundStructuredResponseMessage``):
    the user answers an agent's quick reply (or button), within the user's open conversation
    (the SDK: "this will be a part of an existing conversation"). Stored as a ``Structured``
    inbound message whose ``content`` is one ``ButtonResponse``; answers
    ``OpenStructuredResponseNormalizedMessage``."""
    authorize(request, PERMISSION_CREATE)
    integration = _integration(request.app, request.match_info["integration_id"])
    data = await read_json_object(request)
    channel = _parse_channel(data, message_id_required=True)
    button = _button_response(data)
    originating = data.get("originatingMessageId")
    if originating is not None and not isinstance(originating, str):
        raise ApiError(400, message="originatingMessageId must be a string.")
    world = request.app[OPEN_MESSAGING]
    sender = channel["from"]
    existing = (
        world.find_inbound(integration.id, sender["id"], channel["messageId"])
        if world.dedupe
        else None
    )
    if existing is not None:
        return web.json_response(_structured_response(*existing))
    conversation = world.open_conversation(integration.id, sender["id"])
    if conversation is None:
        raise ApiError(400, "bad.request", "The user has no open conversation to respond in.")
    if originating:
        answered = conversation.message(originating)
        if answered is None or answered.direction != "Outbound":
            raise ApiError(400, "bad.request", "originatingMessageId names no agent message.")
    content = [{"contentType": "ButtonResponse", "buttonResponse": button}]
    message = OmMessage(
        new_id(),
        conversation.customer.id,
        "Inbound",
        "",
        provider_message_id=channel["messageId"],
        time=channel["time"],
        content=content,
        custom_attributes=channel["customAttributes"] or None,
        type="Structured",
        originating_message_id=originating or None,
    )
    conversation.custom_attributes.update(channel["customAttributes"])
    conversation.messages.append(message)
    return web.json_response(_structured_response(conversation, message))


def _structured_response(conversation: OmConversation, message: OmMessage) -> dict[str, Any]:
    """``OpenStructuredResponseNormalizedMessage`` (no ``conversationId``: the endpoint takes
    no ``prefetchConversationId``)."""
    return {
        "id": message.id,
        "channel": _channel_json(
            conversation.integration_id,
            conversation.integration_id,
            conversation.customer_from,
            message.time,
            message.provider_message_id,
        ),
        "type": "Structured",
        "direction": "Inbound",
        "content": message.content,
    }


async def inbound_event(request: web.Request) -> web.Response:
    authorize(request, PERMISSION_CREATE)
    integration = _integration(request.app, request.match_info["integration_id"])
    data = await read_json_object(request)
    channel = _parse_channel(data, message_id_required=False)
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise ApiError(400, message="events is required.")
    for event in events:
        if not isinstance(event, dict) or event.get("eventType") != "Typing":
            raise ApiError(400, message="Each event needs eventType Typing.")
        typing = event.get("typing")
        if not isinstance(typing, dict) or typing.get("type") != "On":
            raise ApiError(400, message="typing.type must be On.")
    sender = channel["from"]
    conversation = request.app[OPEN_MESSAGING].open_conversation(integration.id, sender["id"])
    if conversation is not None:
        conversation.typing.append(
            {
                "participant_id": conversation.customer.id,
                "purpose": PURPOSE_CUSTOMER,
                "at": now_iso(),
            }
        )
    # OpenEventNormalizedMessage
    return web.json_response(
        {
            "id": new_id(),
            "channel": _channel_json(
                integration.id, integration.id, sender, channel["time"], channel["messageId"]
            ),
            "events": events,
        }
    )


async def inbound_receipt(request: web.Request) -> web.Response:
    """``OpenInboundNormalizedReceipt``: the state of one of the agent's messages."""
    authorize(request, PERMISSION_CREATE)
    integration = _integration(request.app, request.match_info["integration_id"])
    data = await read_json_object(request)
    channel = data.get("channel")
    to = channel.get("to") if isinstance(channel, dict) else None
    user_id = optional_str(to, "id") if isinstance(to, dict) else None
    if not user_id or not optional_str(channel, "time"):
        raise ApiError(400, message="channel.to.id and channel.time are required.")
    status = optional_str(data, "status")
    if status not in RECEIPT_STATUSES:
        raise ApiError(400, message=f"status must be one of {', '.join(RECEIPT_STATUSES)}.")
    reasons = data.get("reasons")
    if reasons is not None and (
        not isinstance(reasons, list)
        or not all(isinstance(r, dict) and optional_str(r, "code") for r in reasons)
    ):
        raise ApiError(400, message="reasons must be a list of {code, message}.")
    message_id = optional_str(data, "id") or ""
    found = request.app[OPEN_MESSAGING].find_message(integration.id, user_id, message_id)
    if found is None or found.direction != "Outbound":
        raise ApiError(404, "not.found", "Message not found")
    found.receipts.append({"status": status, "reasons": reasons or [], "at": now_iso()})
    return web.Response(status=202)


async def get_message_conversation(request: web.Request) -> web.Response:
    authorize(request, PERMISSION_CONVERSATION_VIEW)
    return web.json_response(_conversation(request).as_api())


async def get_conversation_message(request: web.Request) -> web.Response:
    """``GET …/messages/{conversationId}/messages/{messageId}``: ``MessageData``."""
    authorize(request, PERMISSION_CONVERSATION_VIEW)
    conversation = _conversation(request)
    message = conversation.message(request.match_info["message_id"])
    if message is None:
        raise ApiError(404, "not.found", "Message not found")
    return web.json_response(message.data(conversation))


async def patch_participant(request: web.Request) -> web.Response:
    """``MediaParticipantRequest``; only ``{"state": "disconnected"}`` changes anything."""
    authorize(request, PERMISSION_DISCONNECT)
    conversation = _conversation(request)
    participant = conversation.participant(request.match_info["participant_id"])
    if participant is None:
        raise ApiError(404, "not.found", "Participant not found")
    data = await read_json_object(request)
    state = optional_str(data, "state")
    if state is None:
        return web.Response(status=202)
    if state != P_DISCONNECTED:
        raise ApiError(400, message="state can only be set to disconnected.")
    if participant.state == P_DISCONNECTED:
        raise ApiError(400, "bad.request", "The participant is already disconnected.")
    # In a message conversation one side leaving ends it for the other side too.
    disconnect_type = "client" if participant.purpose == PURPOSE_CUSTOMER else "peer"
    participant.disconnect("client")
    await end_conversation(request.app, conversation, disconnect_type)
    return web.Response(status=202)


async def post_disconnect(request: web.Request) -> web.Response:
    """``POST /api/v2/conversations/{id}/disconnect``: a full teardown."""
    authorize(request, PERMISSION_DISCONNECT)
    conversation = _conversation(request)
    if conversation.state != ENDED:
        await end_conversation(request.app, conversation, "system")
    return web.Response(status=202)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v2/conversations/messaging/integrations/open/{integration_id}", get_integration)
    r.add_post(INBOUND_PREFIX + "/message", inbound_message)
    r.add_post(INBOUND_PREFIX + "/event", inbound_event)
    r.add_post(INBOUND_PREFIX + "/receipt", inbound_receipt)
    r.add_post(INBOUND_PREFIX + "/structured/response", inbound_structured_response)
    r.add_get("/api/v2/conversations/messages/{conversation_id}", get_message_conversation)
    r.add_get(
        "/api/v2/conversations/messages/{conversation_id}/messages/{message_id}",
        get_conversation_message,
    )
    r.add_patch(
        "/api/v2/conversations/messages/{conversation_id}/participants/{participant_id}",
        patch_participant,
    )
    r.add_post("/api/v2/conversations/{conversation_id}/disconnect", post_disconnect)
