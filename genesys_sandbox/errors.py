"""Genesys-shaped error responses (the SDK's ``ErrorBody``) and body parsing that never crashes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from genesys_sandbox.state import new_id

# Default codes and messages per status, as Genesys Cloud answers them.
STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "bad.request",
        "The request could not be understood by the server due to malformed syntax.",
    ),
    401: ("bad.credentials", "Invalid login credentials."),
    403: ("not.authorized", "You are not authorized to perform the requested action."),
    404: ("not.found", "The requested resource was not found."),
    405: ("method.not.allowed", "The requested method is not allowed on this resource."),
    409: ("conflict", "The request conflicts with the current state of the resource."),
    413: ("request.entity.too.large", "The request is over the size limit."),
    415: ("unsupported.media.type", "Unsupported media type."),
    429: ("too.many.requests", "Rate limit exceeded the maximum. Retry the request later."),
    500: ("internal.server.error", "The server encountered an unexpected condition."),
    502: ("bad.gateway", "The server received an invalid response from an upstream server."),
    503: ("service.unavailable", "The service is currently unavailable."),
    504: (
        "gateway.timeout",
        "The server did not receive a timely response from an upstream server.",
    ),
}

MAX_BODY_BYTES = 1024 * 1024


class ApiError(Exception):
    """Raised by handlers; the error middleware turns it into a Genesys error body."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        message_params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        default_code, default_message = STATUS_ERRORS.get(status, ("error", "Error."))
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.message_params = message_params or {}
        self.headers = headers or {}
        super().__init__(self.message)


def error_body(status: int, code: str, message: str, params: dict[str, str]) -> dict[str, Any]:
    return {
        "message": message,
        "code": code,
        "status": status,
        "messageParams": params,
        "contextId": new_id(),
        "details": [],
        "errors": [],
    }


def error_response(error: ApiError) -> web.Response:
    body = error_body(error.status, error.code, error.message, error.message_params)
    return web.json_response(body, status=error.status, headers=error.headers)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; a 400 Genesys error when it is missing or malformed."""
    raw = await request.read()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400) from None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ApiError(400, message="The request body must be a JSON object.")
    return data


def optional_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, message=f"{name} must be a string.")
    return value


def required_str(data: dict[str, Any], name: str) -> str:
    value = optional_str(data, name)
    if not value:
        raise ApiError(400, message=f"{name} is required.")
    return value


def optional_int(
    data: dict[str, Any], name: str, default: int | None, minimum: int = 0
) -> int | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ApiError(400, message=f"{name} must be an integer of at least {minimum}.")
    return value


def optional_number(data: dict[str, Any], name: str, default: float, minimum: float = 0) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ApiError(400, message=f"{name} must be a number of at least {minimum}.")
    return float(value)
