"""Process Automation triggers: ``GET /api/v2/processautomation/triggers`` (the SDK's
``get_processautomation_triggers``: ``topicName`` comma-separated, ``enabled``, ``pageSize``
up to 200, ``after`` cursor; a ``TriggerEntityListing``), permission
``processautomation:trigger:view``.

A trigger on ``v2.detail.events.conversation.{id}.customer.end`` fires when an Open
Messaging conversation's customer side ends: with a ``fire_url`` (the sandbox's stand-in
for the target workflow and its data action), it POSTs ``{"conversationId"}`` there with the
trigger's ``fire_headers``, as the README's recipe has the data action do.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

from genesys_sandbox.app_keys import OPEN_MESSAGING
from genesys_sandbox.errors import ApiError
from genesys_sandbox.oauth import authorize
from genesys_sandbox.open_messaging_models import OmConversation, Trigger

logger = logging.getLogger("genesys_sandbox")

TRIGGERS_PATH = "/api/v2/processautomation/triggers"
PERMISSION_VIEW = "processautomation:trigger:view"
CUSTOMER_END_TOPIC = "v2.detail.events.conversation.{id}.customer.end"
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 25
FIRE_TIMEOUT_SECONDS = 5.0
#: Fired triggers' POSTs still in flight (kept so that they are not garbage-collected).
_IN_FLIGHT: set[asyncio.Task[None]] = set()


def _flag(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise ApiError(400, message=f"{name} must be true or false.")
    return value.lower() == "true"


async def list_triggers(request: web.Request) -> web.Response:
    authorize(request, PERMISSION_VIEW)
    query = request.query
    names = {n.strip() for n in query.get("topicName", "").split(",") if n.strip()}
    enabled = _flag(query.get("enabled"), "enabled")
    try:
        page_size = int(query.get("pageSize", DEFAULT_PAGE_SIZE))
        start = int(query.get("after") or 0)
    except ValueError:
        raise ApiError(400, message="pageSize and after must be integers.") from None
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiError(400, message=f"pageSize must be 1 to {MAX_PAGE_SIZE}.")
    found = [
        t
        for t in request.app[OPEN_MESSAGING].triggers.values()
        if (not names or t.topic_name in names) and enabled in (None, t.enabled)
    ]
    page = found[start : start + page_size]
    body: dict[str, Any] = {
        "entities": [t.as_api() for t in page],
        "selfUri": str(request.rel_url),
    }
    if start + page_size < len(found):
        body["nextUri"] = f"{TRIGGERS_PATH}?pageSize={page_size}&after={start + page_size}"
    return web.json_response(body)


def _matches(trigger: Trigger, event: dict[str, Any]) -> bool:
    """``matchCriteria`` on the event's top-level fields (``Equal``, ``NotEqual``, ``In``,
    ``Exists``); another operator never matches in the sandbox."""
    for criterion in trigger.match_criteria:
        value = event.get(str(criterion.get("jsonPath", "")).removeprefix("$."))
        operator = criterion.get("operator")
        if operator == "Equal":
            ok = value == criterion.get("value")
        elif operator == "NotEqual":
            ok = value != criterion.get("value")
        elif operator == "In":
            ok = value in (criterion.get("values") or [])
        elif operator == "Exists":
            ok = (value is not None) == bool(criterion.get("value", True))
        else:
            ok = False
        if not ok:
            return False
    return True


def customer_end_event(conversation: OmConversation) -> dict[str, Any]:
    """The ``CustomerEndDetailEventTopicCustomerEndEvent`` fields a trigger matches on."""
    customer = conversation.customer
    return {
        "conversationId": conversation.id,
        "participantId": customer.id,
        "mediaType": "MESSAGE",
        "messageType": "OPEN",
        "direction": "INBOUND",
        "disconnectType": "PEER",
    }


def fire_customer_end(app: web.Application, conversation: OmConversation) -> None:
    """The customer side of ``conversation`` ended: run the enabled triggers on it."""
    world = app[OPEN_MESSAGING]
    event = customer_end_event(conversation)
    for trigger in world.triggers.values():
        wanted = trigger.enabled and trigger.topic_name == CUSTOMER_END_TOPIC
        if wanted and _matches(trigger, event):
            task = asyncio.create_task(_post(app, trigger, conversation.id))
            _IN_FLIGHT.add(task)
            task.add_done_callback(_IN_FLIGHT.discard)


async def _post(app: web.Application, trigger: Trigger, conversation_id: str) -> None:
    firing: dict[str, Any] = {"trigger_id": trigger.id, "conversation_id": conversation_id}
    app[OPEN_MESSAGING].trigger_firings.append(firing)
    if not trigger.fire_url:
        firing["status"] = None
        return
    body = json.dumps({"conversationId": conversation_id}).encode()
    headers = {"Content-Type": "application/json", **trigger.fire_headers}
    timeout = aiohttp.ClientTimeout(total=FIRE_TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(trigger.fire_url, data=body, headers=headers) as response,
        ):
            firing["status"] = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        firing["status"] = type(error).__name__
        logger.warning("Trigger %s: POST %s failed: %s", trigger.id, trigger.fire_url, error)


def add_routes(app: web.Application) -> None:
    app.router.add_get(TRIGGERS_PATH, list_triggers)
