"""OAuth client and authorization role lookups: what "Test connection" reads to check the
client's permissions.

Each sandbox client has one role: ``permissions=None`` (every permission) is a role granting
``*:*:*``; a list is a role granting exactly those permissions. Shapes follow the SDK's
``OAuthClient`` and ``DomainOrganizationRole`` (with ``DomainPermissionPolicy``).
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from genesys_sandbox.app_keys import STATE
from genesys_sandbox.errors import ApiError
from genesys_sandbox.oauth import authorize
from genesys_sandbox.state import OAuthClient, SandboxState

CLIENT_VIEW = "oauth:client:view"
ROLE_VIEW = "authorization:role:view"
ALL_PERMISSIONS = "*:*:*"
_ROLE_NAMESPACE = uuid.UUID("0c6f3f0e-7d0a-4a57-9a51-2f3b8f0e5d21")


def role_id(client: OAuthClient) -> str:
    """The stable id of the one role of ``client``."""
    return str(uuid.uuid5(_ROLE_NAMESPACE, client.client_id))


def _role_permissions(client: OAuthClient) -> list[str]:
    return [ALL_PERMISSIONS] if client.permissions is None else list(client.permissions)


def _policies(permissions: list[str]) -> list[dict[str, Any]]:
    """``DomainPermissionPolicy`` entries: one per domain and entity, actions merged."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for permission in permissions:
        parts = permission.split(":")
        if len(parts) != 3:
            continue
        actions = grouped.setdefault((parts[0], parts[1]), [])
        if parts[2] not in actions:
            actions.append(parts[2])
    return [
        {
            "domain": domain,
            "entityName": entity,
            "policyName": f"{domain}:{entity}",
            "actionSet": actions,
            "allowConditions": False,
        }
        for (domain, entity), actions in grouped.items()
    ]


async def get_client(request: web.Request) -> web.Response:
    state = request.app[STATE]
    authorize(request, CLIENT_VIEW)
    client = state.clients.get(request.match_info["client_id"])
    if client is None:
        raise ApiError(404, "not.found", "OAuth client not found")
    division = state.organization_id
    return web.json_response(
        {
            "id": client.client_id,
            "name": client.client_id,
            "accessTokenValiditySeconds": client.token_ttl_seconds,
            "authorizedGrantType": "CLIENT-CREDENTIALS",
            "roleIds": [role_id(client)],
            "roleDivisions": [{"roleId": role_id(client), "divisionId": division}],
            "state": "active",
            "selfUri": f"/api/v2/oauth/clients/{client.client_id}",
        }
    )


def _client_of_role(state: SandboxState, wanted: str) -> OAuthClient | None:
    return next((c for c in state.clients.values() if role_id(c) == wanted), None)


async def get_role(request: web.Request) -> web.Response:
    state = request.app[STATE]
    authorize(request, ROLE_VIEW)
    wanted = request.match_info["role_id"]
    client = _client_of_role(state, wanted)
    if client is None:
        raise ApiError(404, "not.found", "Role not found")
    permissions = _role_permissions(client)
    return web.json_response(
        {
            "id": wanted,
            "name": f"Role of {client.client_id}",
            "description": "The sandbox role of one OAuth client.",
            "permissions": permissions,
            "permissionPolicies": _policies(permissions),
            "userCount": 0,
            "base": False,
            "default": False,
            "selfUri": f"/api/v2/authorization/roles/{wanted}",
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/oauth/clients/{client_id}", get_client)
    app.router.add_get("/api/v2/authorization/roles/{role_id}", get_role)
