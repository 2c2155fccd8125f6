"""The Genesys Cloud web chat v2 guest API: one conversation as the guest (our relay) sees it.

The guest API is public: creating a conversation needs no OAuth token, only the
organisation and deployment ids; every later call carries the conversation's JWT. See
``../shared/GENESYS.md``, "Web chat v2 guest API".

Every guest API path is built here. The outbox's calls (create, send, typing, the history
check after an unknown outcome, disconnect) block, through ``genesys.platform.http``; the
relay's reads (members, history) run on its event loop, through
``genesys.platform.async_http``: the same retries and the same errors either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from genesys.platform import async_http, errors, http
from genesys.platform.regions import Region, api_base_url
from genesys.platform.timestamps import CLOCK_SKEW, parse_timestamp

logger = logging.getLogger(__name__)

GUEST_PATH = "/api/v2/webchat/guest/conversations"
MAX_PAGE_SIZE = 100
#: Pages read at most by one history listing, so a misbehaving ``next`` cannot loop forever.
MAX_PAGES = 1000


@dataclass(frozen=True)
class WebChatSession:
    """Our guest member in one web chat conversation, as the create call returned it.

    ``jwt`` authenticates every later call and ``event_stream_uri`` may carry a token: neither
    appears in ``repr``/``str``.
    """

    conversation_id: str
    member_id: str
    jwt: str = field(repr=False)
    event_stream_uri: str = field(repr=False)

    @property
    def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.jwt}"}


def conversation_path(session: WebChatSession) -> str:
    return f"{GUEST_PATH}/{quote(session.conversation_id, safe='')}"


def member_path(session: WebChatSession, member_id: str | None = None) -> str:
    member = quote(member_id or session.member_id, safe="")
    return f"{conversation_path(session)}/members/{member}"


def _json(response: Any, *, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise errors.GenesysError(f"Genesys Cloud answered {what} with no JSON body") from None


def create_conversation(
    region: Region,
    *,
    organization_id: str,
    deployment_id: str,
    queue_name: str,
    member_info: dict[str, Any],
    routing: dict[str, Any] | None = None,
) -> WebChatSession:
    """``POST /api/v2/webchat/guest/conversations``: start a chat routed to ``queue_name``.

    ``member_info`` is sent as given (``GuestMemberInfo``): the caller decides what profile
    data Genesys sees. Not retried except where Genesys cannot have acted (it would start a
    second chat). ``routing`` (``language``, ``skills``, ``priority``) goes into
    ``routingTarget`` (``CreateWebChatConversationRequest.routingTarget``).
    """
    what = "the web chat creation"
    target: dict[str, Any] = {"targetType": "QUEUE", "targetAddress": queue_name}
    for key, value in (routing or {}).items():
        if key in ("language", "skills", "priority") and value not in (None, "", []):
            target[key] = value
    body = {
        "organizationId": organization_id,
        "deploymentId": deployment_id,
        "routingTarget": target,
        "memberInfo": member_info,
    }
    response = http.send(
        "POST", f"{api_base_url(region)}{GUEST_PATH}", what=what, idempotent=False, json=body
    )
    data = _json(response, what=what)
    try:
        session = WebChatSession(
            conversation_id=str(data["id"]),
            member_id=str(data["member"]["id"]),
            jwt=str(data["jwt"]),
            event_stream_uri=str(data["eventStreamUri"]),
        )
    except (KeyError, TypeError):
        raise errors.GenesysError(
            f"Genesys Cloud answered {what} without id, member.id, jwt or eventStreamUri"
        ) from None
    logger.info("Created Genesys web chat conversation %s", session.conversation_id)
    return session


def send_message(
    region: Region, session: WebChatSession, body: str, *, body_type: str = "standard"
) -> dict[str, Any]:
    """Send ``body`` as our member; the ``WebChatMessage`` Genesys stored.

    Not idempotent (Genesys has no idempotency key for guest messages): after a failure whose
    outcome is unknown, ask ``find_sent_message`` before sending again.
    """
    what = "the web chat message"
    response = http.send(
        "POST",
        f"{api_base_url(region)}{member_path(session)}/messages",
        what=what,
        idempotent=False,
        headers=session.authorization,
        json={"body": body, "bodyType": body_type},
    )
    return _json(response, what=what)


def send_typing(region: Region, session: WebChatSession) -> None:
    """Show the agent that our member is typing (harmless to repeat)."""
    http.send(
        "POST",
        f"{api_base_url(region)}{member_path(session)}/typing",
        what="the web chat typing indicator",
        headers=session.authorization,
    )


def messages_path(session: WebChatSession) -> str:
    """The conversation's history: ``GET …/conversations/{conversationId}/messages``."""
    return f"{conversation_path(session)}/messages"


def members_path(session: WebChatSession) -> str:
    """The conversation's members: ``GET …/conversations/{conversationId}/members``."""
    return f"{conversation_path(session)}/members"


def history_params(
    *, after: str | None = None, before: str | None = None, ascending: bool = True
) -> dict[str, Any]:
    """One history page's query: ``MAX_PAGE_SIZE`` messages after or before a message id."""
    params: dict[str, Any] = {
        "sortOrder": "ascending" if ascending else "descending",
        "maxResults": MAX_PAGE_SIZE,
    }
    if after:
        params["after"] = after
    if before:
        params["before"] = before
    return params


def page_of(data: Any) -> tuple[list[dict[str, Any]], bool]:
    """A listing's entities, and whether more follow.

    ``next`` only signals that more follows: the caller builds the next request itself
    (cursor = the last id), so no URL from Genesys is ever requested.
    """
    entities = data.get("entities") if isinstance(data, dict) else None
    entities = [entity for entity in entities or [] if isinstance(entity, dict)]
    return entities, bool(isinstance(data, dict) and data.get("next") and entities)


def _history_page(
    region: Region, session: WebChatSession, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], bool]:
    what = "the web chat history request"
    response = http.send(
        "GET",
        f"{api_base_url(region)}{messages_path(session)}",
        what=what,
        headers=session.authorization,
        params=params,
    )
    return page_of(_json(response, what=what))


def disconnect(region: Region, session: WebChatSession) -> None:
    """Leave the conversation (``DELETE`` our member), which ends it for the agent too.

    A conversation or member that is already over, gone (404), or whose JWT Genesys no longer
    accepts (401) counts as success: in each case there is nothing left to leave.
    """
    try:
        http.send(
            "DELETE",
            f"{api_base_url(region)}{member_path(session)}",
            what="the web chat disconnect",
            headers=session.authorization,
        )
    except (
        errors.GenesysConversationEnded,
        errors.GenesysNotFound,
        errors.GenesysAuthenticationError,
    ) as error:
        logger.info(
            "Genesys web chat conversation %s was already over (%s)",
            session.conversation_id,
            error.code or error.status,
        )


def find_sent_message(
    region: Region,
    session: WebChatSession,
    body: str,
    *,
    since: datetime,
    already_sent: frozenset[str] = frozenset(),
    stop_at: str | None = None,
) -> str | None:
    """The id of our own message with this ``body`` sent at or after ``since``, or ``None``.

    For a send whose outcome is unknown (a timeout, a 5xx): Genesys has no idempotency key
    for guest messages, so look in the history before sending again. ``since`` is widened by
    ``CLOCK_SKEW``. Reads the history newest first and stops at the first older message, or
    at ``stop_at`` (the previous outbox row's message: anything older was sent before it);
    ids in ``already_sent`` belong to other outbox rows and are never taken, so "yes" after
    "yes" is not mistaken for the first one. Of several matches it returns the newest.
    """
    cutoff = since - CLOCK_SKEW
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page, more = _history_page(region, session, history_params(before=cursor, ascending=False))
        for message in page:
            message_id = str(message.get("id"))
            at = parse_timestamp(message.get("timestamp"))
            if (at is not None and at < cutoff) or (stop_at and message_id == stop_at):
                return None
            sender = message.get("sender") or {}
            if (
                sender.get("id") == session.member_id
                and message.get("body") == body
                and at is not None
                and message_id not in already_sent
            ):
                return message_id
        if not more:
            return None
        cursor = str(page[-1].get("id"))
    return None


# The relay's reads (``genesys.webchat.event_stream``), on its event loop


async def fetch_members(
    client: aiohttp.ClientSession, region: Region, session: WebChatSession, *, timeout: float
) -> list[dict[str, Any]]:
    """The conversation's members (``WebChatMemberInfo``: ``id``, ``role``, ``state``, …)."""
    data = await async_http.send(
        client,
        "GET",
        f"{api_base_url(region)}{members_path(session)}",
        what="the web chat member list",
        headers=session.authorization,
        params={"pageSize": MAX_PAGE_SIZE},
        timeout=timeout,
    )
    return page_of(data)[0]


async def fetch_member(
    client: aiohttp.ClientSession,
    region: Region,
    session: WebChatSession,
    member_id: str,
    *,
    timeout: float,
) -> dict[str, Any]:
    """``WebChatMemberInfo`` of a member of the conversation (role, display name, state)."""
    data = await async_http.send(
        client,
        "GET",
        f"{api_base_url(region)}{member_path(session, member_id)}",
        what="the web chat member lookup",
        headers=session.authorization,
        timeout=timeout,
    )
    return data if isinstance(data, dict) else {}


async def fetch_history_page(
    client: aiohttp.ClientSession,
    region: Region,
    session: WebChatSession,
    *,
    after: str | None,
    timeout: float,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the history, oldest first, after the message ``after`` if given; and
    whether more follow."""
    data = await async_http.send(
        client,
        "GET",
        f"{api_base_url(region)}{messages_path(session)}",
        what="the web chat history request",
        headers=session.authorization,
        params=history_params(after=after),
        timeout=timeout,
    )
    return page_of(data)
