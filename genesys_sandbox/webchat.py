"""Web chat v2 guest API (``/api/v2/webchat/guest/...``), its event stream, and chat actions.

The actions (``send_message``, ``agent_join``, …) are shared by the guest API and the agent
side of the control API, so both publish the same events.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from aiohttp import web

from genesys_sandbox.app_keys import STATE, STREAMS
from genesys_sandbox.errors import ApiError, optional_int, optional_str, read_json_object
from genesys_sandbox.events import serve_stream
from genesys_sandbox.state import (
    ACTIVE,
    CONNECTED,
    DISCONNECTED,
    ENDED,
    ROLE_ACD,
    ROLE_AGENT,
    ROLE_CUSTOMER,
    WAITING,
    Conversation,
    Member,
    Message,
    new_id,
    now_iso,
)

BODY_TYPES = ("standard", "notice", "member-join", "member-leave", "media-request")
GUEST_PREFIX = "/api/v2/webchat/guest/conversations"
MAX_HISTORY_RESULTS = 100
MAX_MESSAGE_CHARS = 4000


def _conversation_state_error() -> ApiError:
    return ApiError(
        400, "chat.error.conversation.state", "The conversation is not in a valid state."
    )


def _member_state_error() -> ApiError:
    return ApiError(400, "chat.error.member.state", "The member is not in a valid state.")


# Chat actions


async def send_message(
    app: web.Application, conversation: Conversation, sender: Member, body: str, body_type: str
) -> Message:
    if conversation.state == ENDED:
        raise _conversation_state_error()
    if sender.state != CONNECTED:
        raise _member_state_error()
    message = Message(new_id(), conversation.id, sender.id, body, body_type)
    conversation.messages.append(message)
    await app[STREAMS].message(conversation, message)
    return message


async def _system_message(
    app: web.Application, conversation: Conversation, member: Member, body_type: str
) -> None:
    """Genesys also writes member-join / member-leave messages beside the member changes."""
    message = Message(new_id(), conversation.id, member.id, "", body_type)
    conversation.messages.append(message)
    await app[STREAMS].message(conversation, message)


async def _set_member_state(
    app: web.Application, conversation: Conversation, member: Member, state: str
) -> None:
    if state == DISCONNECTED:
        member.disconnect()
    else:
        member.state = state
        member.leave_date = None
    await app[STREAMS].member_change(conversation, member)


async def agent_join(app: web.Application, conversation: Conversation, name: str) -> Member:
    if conversation.state == ENDED:
        raise _conversation_state_error()
    if conversation.connected_agent() is not None:
        raise ApiError(409, "conflict", "An agent is already connected to this conversation.")
    acd = conversation.members[conversation.acd_id]
    if acd.state == CONNECTED:
        await _set_member_state(app, conversation, acd, DISCONNECTED)
    agent = Member(new_id(), ROLE_AGENT, display_name=name, state=CONNECTED)
    conversation.members[agent.id] = agent
    conversation.state = ACTIVE
    await app[STREAMS].member_change(conversation, agent)
    await _system_message(app, conversation, agent, "member-join")
    return agent


async def agent_leave(
    app: web.Application, conversation: Conversation, *, end_conversation: bool
) -> None:
    agent = conversation.connected_agent()
    if agent is None:
        raise ApiError(409, "conflict", "No agent is connected to this conversation.")
    await _set_member_state(app, conversation, agent, DISCONNECTED)
    await _system_message(app, conversation, agent, "member-leave")
    if end_conversation:
        await end(app, conversation)
    else:
        # Back to the queue, as after a transfer: the ACD placeholder returns.
        conversation.state = WAITING
        await _set_member_state(
            app, conversation, conversation.members[conversation.acd_id], CONNECTED
        )


async def end(app: web.Application, conversation: Conversation) -> None:
    """Disconnect every member still connected; the conversation is over."""
    conversation.state = ENDED
    for member in conversation.members.values():
        if member.state != DISCONNECTED:
            await _set_member_state(app, conversation, member, DISCONNECTED)


# Guest API


def _guest_conversation(request: web.Request) -> Conversation:
    """The path's conversation, if the request carries that conversation's JWT."""
    header = request.headers.get("Authorization", "")
    scheme, _, jwt = header.partition(" ")
    if scheme.lower() != "bearer" or not jwt.strip():
        raise ApiError(
            401,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )
    conversation = request.app[STATE].conversations.get(request.match_info["conversation_id"])
    if conversation is None or not hmac.compare_digest(conversation.jwt, jwt.strip()):
        raise ApiError(401, "bad.credentials", "Invalid login credentials.")
    return conversation


def _path_member(request: web.Request, conversation: Conversation) -> Member:
    member = conversation.members.get(request.match_info["member_id"])
    if member is None:
        raise ApiError(404, "not.found", "Member not found")
    return member


def _own_member(request: web.Request, conversation: Conversation) -> Member:
    member = _path_member(request, conversation)
    if member.id != conversation.customer_id:
        raise ApiError(403, "not.authorized", "A guest may act only as its own member.")
    return member


def _guest_member_info(data: Any) -> Member:
    if not isinstance(data, dict):
        raise ApiError(400, message="memberInfo is required.")
    display_name = optional_str(data, "displayName")
    if not display_name:
        raise ApiError(400, message="memberInfo.displayName is required.")
    custom_fields = data.get("customFields")
    if custom_fields is not None and (
        not isinstance(custom_fields, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in custom_fields.items())
    ):
        raise ApiError(400, message="memberInfo.customFields must map strings to strings.")
    return Member(
        new_id(),
        ROLE_CUSTOMER,
        display_name=display_name,
        first_name=optional_str(data, "firstName"),
        last_name=optional_str(data, "lastName"),
        email=optional_str(data, "email"),
        phone_number=optional_str(data, "phoneNumber"),
        avatar_image_url=optional_str(data, "avatarImageUrl"),
        custom_fields=custom_fields,
        authenticated_guest=bool(data.get("memberAuthToken")),
    )


def _routing(target: dict[str, Any]) -> dict[str, Any]:
    """``routingTarget``'s ``language`` (string), ``skills`` (strings), ``priority`` (integer)."""
    routing: dict[str, Any] = {}
    language = target.get("language")
    if language is not None:
        if not isinstance(language, str):
            raise ApiError(400, message="routingTarget.language must be a string.")
        routing["language"] = language
    skills = target.get("skills")
    if skills is not None:
        if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
            raise ApiError(400, message="routingTarget.skills must be a list of strings.")
        routing["skills"] = skills
    priority = target.get("priority")
    if priority is not None:
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ApiError(400, message="routingTarget.priority must be an integer.")
        routing["priority"] = priority
    return routing


async def create_conversation(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data = await read_json_object(request)
    organization_id = optional_str(data, "organizationId")
    deployment_id = optional_str(data, "deploymentId")
    if not organization_id or not deployment_id:
        raise ApiError(400, message="organizationId and deploymentId are required.")
    if organization_id != state.organization_id:
        raise ApiError(400, "invalid.organization", "The organization is not valid.")
    if deployment_id != state.deployment_id:
        raise ApiError(404, "not.found", "Deployment not found")
    target = data.get("routingTarget")
    if not isinstance(target, dict) or target.get("targetType") != "QUEUE":
        raise ApiError(400, message="routingTarget with targetType QUEUE is required.")
    queue_name = optional_str(target, "targetAddress")
    queue = state.queue_by_name(queue_name) if queue_name else None
    if queue is None:
        raise ApiError(
            400, "chat.error.invalid.queue", f"The routing target queue is not valid: {queue_name}"
        )
    routing = _routing(target)
    customer = _guest_member_info(data.get("memberInfo"))
    customer.authenticated_guest = bool(data.get("memberAuthToken"))
    acd = Member(new_id(), ROLE_ACD, display_name=queue.name)
    conversation_id = new_id()
    conversation = Conversation(
        id=conversation_id,
        queue_id=queue.id,
        queue_name=queue.name,
        organization_id=organization_id,
        deployment_id=deployment_id,
        customer_id=customer.id,
        acd_id=acd.id,
        jwt=state.make_jwt(conversation_id, customer.id),
        channel_id=f"streaming-0-{secrets.token_hex(16)}",
        members={customer.id: customer, acd.id: acd},
        routing=routing,
    )
    state.conversations[conversation.id] = conversation
    scheme = "wss" if request.secure else "ws"
    # CreateWebChatConversationResponse
    return web.json_response(
        {
            "id": conversation.id,
            "jwt": conversation.jwt,
            "eventStreamUri": f"{scheme}://{request.host}/channels/{conversation.channel_id}",
            "member": customer.info(),
        }
    )


async def post_message(request: web.Request) -> web.Response:
    conversation = _guest_conversation(request)
    member = _own_member(request, conversation)
    data = await read_json_object(request)
    body = optional_str(data, "body")
    body_type = optional_str(data, "bodyType") or "standard"
    if body is None:
        raise ApiError(400, message="body is required.")
    if len(body) > MAX_MESSAGE_CHARS:
        raise ApiError(400, message=f"body is longer than {MAX_MESSAGE_CHARS} characters.")
    if body_type not in BODY_TYPES:
        raise ApiError(400, message=f"bodyType must be one of {', '.join(BODY_TYPES)}.")
    message = await send_message(request.app, conversation, member, body, body_type)
    return web.json_response(message.as_json())


async def post_typing(request: web.Request) -> web.Response:
    conversation = _guest_conversation(request)
    member = _own_member(request, conversation)
    if conversation.state == ENDED:
        raise _conversation_state_error()
    if member.state != CONNECTED:
        raise _member_state_error()
    await request.app[STREAMS].typing(conversation, member)
    # WebChatTyping
    return web.json_response(
        {
            "id": new_id(),
            "conversation": {"id": conversation.id},
            "sender": {"id": member.id},
            "timestamp": now_iso(),
        }
    )


async def list_messages(request: web.Request) -> web.Response:
    conversation = _guest_conversation(request)
    query = dict(request.query)
    sort_order = query.get("sortOrder", "ascending")
    if sort_order not in ("ascending", "descending"):
        raise ApiError(400, message="sortOrder must be ascending or descending.")
    try:
        max_results = optional_int(
            {"maxResults": int(query["maxResults"])} if "maxResults" in query else {},
            "maxResults",
            MAX_HISTORY_RESULTS,
            minimum=1,
        )
    except ValueError:
        raise ApiError(400, message="maxResults must be an integer.") from None
    max_results = min(max_results or MAX_HISTORY_RESULTS, MAX_HISTORY_RESULTS)
    ids = [message.id for message in conversation.messages]
    start, stop = 0, len(ids)
    for name in ("after", "before"):
        if name in query and query[name] not in ids:
            raise ApiError(400, message=f"{name} is not a message of this conversation.")
    if "after" in query:
        start = ids.index(query["after"]) + 1
    if "before" in query:
        stop = ids.index(query["before"])
    window = conversation.messages[start:stop]
    base = f"{GUEST_PREFIX}/{conversation.id}/messages"
    result: dict[str, Any] = {"pageSize": max_results}
    if sort_order == "ascending":
        page = window[:max_results]
        if len(window) > max_results:
            result["next"] = (
                f"{base}?after={page[-1].id}&maxResults={max_results}&sortOrder=ascending"
            )
    else:
        page = list(reversed(window[-max_results:]))
        if len(window) > max_results:
            result["next"] = (
                f"{base}?before={page[-1].id}&maxResults={max_results}&sortOrder=descending"
            )
    result["entities"] = [message.as_json() for message in page]
    result["selfUri"] = str(request.rel_url)
    return web.json_response(result)


async def list_members(request: web.Request) -> web.Response:
    conversation = _guest_conversation(request)
    # WebChatMemberInfoEntityList
    entities = [member.info() for member in conversation.members.values()]
    return web.json_response(
        {
            "pageSize": len(entities),
            "pageNumber": 1,
            "entities": entities,
            "selfUri": f"{GUEST_PREFIX}/{conversation.id}/members",
        }
    )


async def get_member(request: web.Request) -> web.Response:
    conversation = _guest_conversation(request)
    return web.json_response(_path_member(request, conversation).info())


async def delete_member(request: web.Request) -> web.Response:
    conversation = _guest_conversation(request)
    member = _own_member(request, conversation)
    if member.state == DISCONNECTED:
        raise _member_state_error()
    # The customer leaving ends the chat for everyone.
    await end(request.app, conversation)
    return web.Response(status=204)


async def event_stream(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    conversation = state.conversation_for_channel(request.match_info["channel_id"])
    if conversation is None:
        raise ApiError(404, "not.found", "Channel not found")
    return await serve_stream(
        request, request.app[STREAMS], conversation.id, lambda: state.heartbeat_seconds
    )


def add_routes(app: web.Application) -> None:
    member = GUEST_PREFIX + "/{conversation_id}/members/{member_id}"
    app.router.add_post(GUEST_PREFIX, create_conversation)
    app.router.add_post(member + "/messages", post_message)
    app.router.add_post(member + "/typing", post_typing)
    app.router.add_get(GUEST_PREFIX + "/{conversation_id}/messages", list_messages)
    app.router.add_get(GUEST_PREFIX + "/{conversation_id}/members", list_members)
    app.router.add_get(member, get_member)
    app.router.add_delete(member, delete_member)
