"""``create_app(state)``: the sandbox as one aiohttp application on one base URL."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web

from genesys_sandbox import (
    analytics,
    authorization,
    console,
    control,
    notifications,
    oauth,
    open_messaging,
    open_messaging_control,
    process_automation,
    routing,
    webchat,
)
from genesys_sandbox.app_keys import (
    NOTIFICATION_STREAMS,
    OPEN_MESSAGING,
    STATE,
    STREAMS,
    WEBHOOKS,
)
from genesys_sandbox.errors import MAX_BODY_BYTES, ApiError, error_response
from genesys_sandbox.events import EventStreams
from genesys_sandbox.open_messaging_models import OpenMessagingWorld
from genesys_sandbox.state import LoggedRequest, SandboxState
from genesys_sandbox.webhooks import WebhookDeliverer

logger = logging.getLogger("genesys_sandbox")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Not logged and never faulted: they drive the sandbox rather than imitate Genesys.
UNLOGGED_PREFIXES = ("/sandbox/", "/console")
REDACTED_FORM_FIELDS = {"client_secret", "password", "assertion", "refresh_token"}


def _is_genesys_path(path: str) -> bool:
    return not path.startswith(UNLOGGED_PREFIXES)


async def _log_entry(request: web.Request) -> LoggedRequest:
    """The request as the request log keeps it, credentials reduced to their scheme."""
    headers = dict(request.headers)
    for name, value in headers.items():
        if name.lower() == "authorization":
            headers[name] = value.split(" ", 1)[0]  # "Bearer" or "Basic"
        elif name.lower() == "cookie":
            headers[name] = "(redacted)"
    raw = await request.read() if request.can_read_body else b""
    body_json = form = None
    if raw and request.content_type == "application/json":
        try:
            body_json = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            body_json = None
    elif raw and request.content_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            pairs = []
        form = {k: ("***" if k in REDACTED_FORM_FIELDS else v) for k, v in pairs}
    return LoggedRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers=headers,
        json=body_json,
        form=form,
    )


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a Genesys error body; nothing crashes the server."""
    try:
        response = await handler(request)
    except ApiError as error:
        response = error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(ApiError(exc.status))
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        response = error_response(ApiError(500))
    logger.info("%s %s %s", request.method, request.path, response.status)
    return response


@web.middleware
async def genesys_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Log Genesys-bound requests, then apply any injected fault."""
    if not _is_genesys_path(request.path):
        return await handler(request)
    state = request.app[STATE]
    state.log_request(await _log_entry(request))
    fault = state.take_fault(request.method, request.path)
    if fault is not None:
        if fault.delay_seconds:
            await asyncio.sleep(fault.delay_seconds)
        if fault.status is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            raise ApiError(fault.status, headers=headers)
    return await handler(request)


def create_app(state: SandboxState | None = None) -> web.Application:
    app = web.Application(
        middlewares=[errors_middleware, genesys_middleware], client_max_size=MAX_BODY_BYTES
    )
    app[STATE] = state or SandboxState()
    app[STREAMS] = EventStreams()
    app[OPEN_MESSAGING] = OpenMessagingWorld()
    app[WEBHOOKS] = WebhookDeliverer(app[OPEN_MESSAGING])
    app[NOTIFICATION_STREAMS] = EventStreams()
    app.router.add_post("/oauth/token", oauth.token)
    app.router.add_get("/api/v2/routing/queues/{queue_id}", routing.get_queue)
    app.router.add_get(
        "/api/v2/routing/queues/{queue_id}/mediatypes/{media_type}/estimatedwaittime",
        routing.estimated_wait_time,
    )
    app.router.add_post("/api/v2/analytics/queues/observations/query", analytics.queue_observations)
    authorization.add_routes(app)
    webchat.add_routes(app)
    open_messaging.add_routes(app)
    notifications.add_routes(app)
    process_automation.add_routes(app)
    control.add_routes(app)
    open_messaging_control.add_routes(app)
    console.add_routes(app)

    async def close_streams(app: web.Application) -> None:
        await app[STREAMS].close_all()
        await app[NOTIFICATION_STREAMS].close_all()
        await app[WEBHOOKS].close()

    app.on_shutdown.append(close_streams)
    return app
