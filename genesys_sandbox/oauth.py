"""``POST /oauth/token`` (client credentials) and bearer-token checks for the API."""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from genesys_sandbox.app_keys import STATE
from genesys_sandbox.errors import ApiError
from genesys_sandbox.state import OAuthClient


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    # The login service answers OAuth-style errors, not the API's ErrorBody.
    body = {"error": error, "description": description, "error_description": description}
    return web.json_response(body, status=status)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else None


async def token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    client = state.clients.get(credentials[0]) if credentials else None
    if (
        credentials is None
        or client is None
        or not hmac.compare_digest(client.client_secret.encode(), credentials[1].encode())
    ):
        return _oauth_error(401, "invalid_client", "Invalid client credentials")
    form = await request.post()
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", f"Unsupported grant type: {grant_type or '(none)'}"
        )
    return web.json_response(
        {
            "access_token": state.issue_token(client),
            "token_type": "bearer",
            "expires_in": client.token_ttl_seconds,
        }
    )


def authorize(request: web.Request, permission: str | None) -> OAuthClient:
    """The OAuth client behind the request's bearer token, if it holds ``permission``
    (``None``: any valid token will do)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(
            401,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        )
    client = request.app[STATE].client_for_token(value.strip())
    if client is None:
        raise ApiError(401, "bad.credentials", "Invalid login credentials.")
    if permission is not None and not client.has_permission(permission):
        raise ApiError(
            403,
            "missing.permissions",
            "Unable to perform the requested action. You are missing the following "
            f"permission(s): {permission}",
            message_params={"permissions": permission},
        )
    return client
