"""Routing API: a queue, and its estimated wait time."""

from __future__ import annotations

from aiohttp import web

from genesys_sandbox.app_keys import STATE
from genesys_sandbox.errors import ApiError
from genesys_sandbox.oauth import authorize
from genesys_sandbox.state import Queue

MEDIA_TYPES = {"call", "callback", "chat", "email", "socialexpression", "videocomm", "message"}


def _queue(request: web.Request) -> Queue:
    queue = request.app[STATE].queues.get(request.match_info["queue_id"])
    if queue is None:
        raise ApiError(404, "not.found", "Queue not found")
    return queue


async def get_queue(request: web.Request) -> web.Response:
    authorize(request, "routing:queue:view")
    queue = _queue(request)
    # A subset of the SDK's Queue model; Genesys omits null fields.
    return web.json_response(
        {
            "id": queue.id,
            "name": queue.name,
            "division": {"id": request.app[STATE].organization_id, "name": "Home"},
            "dateCreated": queue.date_created,
            "memberCount": queue.agents_on_queue,
            "userMemberCount": queue.agents_on_queue,
            "joinedMemberCount": queue.agents_on_queue,
            "mediaSettings": {},
            "acwSettings": {"wrapupPrompt": "OPTIONAL"},
            "skillEvaluationMethod": "ALL",
            "autoAnswerOnly": False,
            "enableTranscription": False,
            "enableManualAssignment": False,
            "selfUri": f"/api/v2/routing/queues/{queue.id}",
        }
    )


async def estimated_wait_time(request: web.Request) -> web.Response:
    authorize(request, "routing:queue:view")
    queue = _queue(request)
    media_type = request.match_info["media_type"].lower()
    if media_type not in MEDIA_TYPES:
        raise ApiError(400, "bad.request", f"Invalid media type: {media_type}")
    if queue.estimated_wait_seconds is None:
        return web.json_response({"results": []})
    # EstimatedWaitTimePredictions → PredictionResults.
    result = {
        "intent": media_type.upper(),
        "formula": "BEST",
        "estimatedWaitTimeSeconds": queue.estimated_wait_seconds,
    }
    return web.json_response({"results": [result]})
