"""``POST /api/v2/analytics/queues/observations/query`` (the SDK's ``QueueObservationQuery``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from genesys_sandbox.app_keys import STATE
from genesys_sandbox.errors import ApiError, read_json_object
from genesys_sandbox.oauth import authorize
from genesys_sandbox.state import Queue, SandboxState

SUPPORTED_METRICS = (
    "oActiveUsers",
    "oAlerting",
    "oInteracting",
    "oMemberUsers",
    "oOffQueueUsers",
    "oOnQueueUsers",
    "oWaiting",
)
FILTER_TYPES = {"and", "or"}
DIMENSIONS = {"queueId", "mediaType"}


def _predicate_values(query_filter: dict[str, Any]) -> dict[str, list[str]]:
    """The values each dimension is matched against, from predicates and clauses."""
    values: dict[str, list[str]] = {"queueId": [], "mediaType": []}
    groups = [query_filter, *(query_filter.get("clauses") or [])]
    for group in groups:
        if not isinstance(group, dict):
            raise ApiError(400, message="Each filter clause must be an object.")
        predicates = group.get("predicates") or []
        if not isinstance(predicates, list):
            raise ApiError(400, message="filter.predicates must be a list.")
        for predicate in predicates:
            if not isinstance(predicate, dict):
                raise ApiError(400, message="Each predicate must be an object.")
            dimension = predicate.get("dimension")
            value = predicate.get("value")
            if dimension not in DIMENSIONS or not isinstance(value, str):
                raise ApiError(
                    400, message=f"Unsupported predicate dimension or value: {dimension!r}"
                )
            if predicate.get("operator", "matches") != "matches":
                raise ApiError(400, message="Only the 'matches' operator is supported.")
            values[dimension].append(value)
    return values


def _metric_data(
    state: SandboxState, queue: Queue, media_type: str | None, metric: str
) -> list[dict[str, Any]]:
    """``ObservationMetricData`` entries for one metric; zero-count qualifiers are left out."""

    def entry(count: int, qualifier: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"metric": metric}
        if qualifier is not None:
            data["qualifier"] = qualifier
        data["stats"] = {"count": count}  # StatisticalSummary
        return data

    if metric == "oOnQueueUsers":
        statuses = [
            ("IDLE", queue.agents_idle),
            ("INTERACTING", queue.agents_interacting),
            ("NOT_RESPONDING", queue.agents_not_responding),
        ]
        return [entry(count, qualifier) for qualifier, count in statuses if count > 0]
    if metric == "oOffQueueUsers":
        return []
    if metric in ("oActiveUsers", "oMemberUsers"):
        return [entry(queue.agents_on_queue)]
    if metric == "oWaiting":
        return [entry(state.waiting_count(queue, media_type))]
    if metric == "oInteracting":
        return [entry(queue.agents_interacting)]
    return [entry(0)]  # oAlerting


async def queue_observations(request: web.Request) -> web.Response:
    authorize(request, "analytics:queueObservation:view")
    state = request.app[STATE]
    query = await read_json_object(request)
    query_filter = query.get("filter")
    metrics = query.get("metrics")
    if not isinstance(query_filter, dict) or query_filter.get("type") not in FILTER_TYPES:
        raise ApiError(400, message="filter with a type of 'and' or 'or' is required.")
    if not isinstance(metrics, list) or not metrics:
        raise ApiError(400, message="metrics must be a non-empty list.")
    unknown = [m for m in metrics if m not in SUPPORTED_METRICS]
    if unknown:
        raise ApiError(400, message=f"Unsupported metric(s): {unknown}")
    values = _predicate_values(query_filter)
    if not values["queueId"]:
        raise ApiError(400, message="The filter must include a queueId predicate.")
    results = []
    for queue_id in dict.fromkeys(values["queueId"]):
        for media_type in dict.fromkeys(values["mediaType"]) or [None]:
            group = {"queueId": queue_id}
            if media_type is not None:
                group["mediaType"] = media_type
            result: dict[str, Any] = {"group": group}
            queue = state.queues.get(queue_id)
            if queue is not None:
                data = [
                    item
                    for m in dict.fromkeys(metrics)
                    for item in _metric_data(state, queue, media_type, m)
                ]
                if data:
                    result["data"] = data
            results.append(result)
    return web.json_response({"results": results})
