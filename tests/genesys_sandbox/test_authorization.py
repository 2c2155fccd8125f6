"""``GET /api/v2/oauth/clients/{clientId}`` and ``GET /api/v2/authorization/roles/{roleId}``."""

from __future__ import annotations

import requests

from tests.genesys_sandbox.conftest import TIMEOUT, assert_error_body
from tests.sandbox import SandboxServer


def bearer(sandbox: SandboxServer, client_id: str, secret: str) -> dict[str, str]:
    response = requests.post(
        f"{sandbox.url}/oauth/token",
        auth=(client_id, secret),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def get(sandbox: SandboxServer, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{sandbox.url}{path}", headers=headers, timeout=TIMEOUT)


def test_a_client_with_every_permission_has_one_role_granting_everything(sandbox, token):
    headers = {"Authorization": f"Bearer {token}"}
    response = get(sandbox, f"/api/v2/oauth/clients/{sandbox.client_id}", headers)
    assert response.status_code == 200, response.text
    client = response.json()
    assert client["id"] == client["name"] == sandbox.client_id
    assert client["authorizedGrantType"] == "CLIENT-CREDENTIALS"
    assert "secret" not in client
    assert sandbox.client_secret not in response.text
    (role_id,) = client["roleIds"]
    assert client["roleDivisions"] == [{"roleId": role_id, "divisionId": client_division(sandbox)}]

    role = get(sandbox, f"/api/v2/authorization/roles/{role_id}", headers).json()
    assert role["id"] == role_id
    assert role["permissions"] == ["*:*:*"]
    assert role["permissionPolicies"] == [
        {
            "domain": "*",
            "entityName": "*",
            "policyName": "*:*",
            "actionSet": ["*"],
            "allowConditions": False,
        }
    ]


def client_division(sandbox: SandboxServer) -> str:
    return requests.get(f"{sandbox.url}/sandbox/state", timeout=TIMEOUT).json()["organization_id"]


def test_a_listed_client_has_a_role_with_exactly_those_permissions(sandbox):
    permissions = [
        "oauth:client:view",
        "authorization:role:view",
        "conversation:message:view",
        "conversation:communication:disconnect",
    ]
    sandbox.put_client("listed", "secret-1", permissions=permissions)
    headers = bearer(sandbox, "listed", "secret-1")
    client = get(sandbox, "/api/v2/oauth/clients/listed", headers).json()
    role = get(sandbox, f"/api/v2/authorization/roles/{client['roleIds'][0]}", headers).json()
    assert role["permissions"] == permissions
    policies = {(p["domain"], p["entityName"]): p["actionSet"] for p in role["permissionPolicies"]}
    assert policies == {
        ("oauth", "client"): ["view"],
        ("authorization", "role"): ["view"],
        ("conversation", "message"): ["view"],
        ("conversation", "communication"): ["disconnect"],
    }


def test_the_lookups_need_their_permissions(sandbox):
    sandbox.put_client("plain", "secret-1", permissions=["routing:queue:view"])
    headers = bearer(sandbox, "plain", "secret-1")
    body = assert_error_body(
        get(sandbox, "/api/v2/oauth/clients/plain", headers), 403, "missing.permissions"
    )
    assert body["messageParams"] == {"permissions": "oauth:client:view"}
    sandbox.put_client("half", "secret-2", permissions=["oauth:client:view"])
    headers = bearer(sandbox, "half", "secret-2")
    role_id = get(sandbox, "/api/v2/oauth/clients/half", headers).json()["roleIds"][0]
    body = assert_error_body(
        get(sandbox, f"/api/v2/authorization/roles/{role_id}", headers), 403, "missing.permissions"
    )
    assert body["messageParams"] == {"permissions": "authorization:role:view"}


def test_unknown_client_and_role_are_404(sandbox, token):
    headers = {"Authorization": f"Bearer {token}"}
    assert_error_body(get(sandbox, "/api/v2/oauth/clients/nobody", headers), 404, "not.found")
    assert_error_body(
        get(sandbox, "/api/v2/authorization/roles/no-such-role", headers), 404, "not.found"
    )
    assert get(sandbox, "/api/v2/oauth/clients/nobody", {}).status_code == 401


def test_wildcard_permissions_are_honoured(sandbox):
    sandbox.put_client("wild", "secret-1", permissions=["routing:*:*", "oauth:client:*"])
    headers = bearer(sandbox, "wild", "secret-1")
    assert get(sandbox, f"/api/v2/routing/queues/{sandbox.queue_id}", headers).status_code == 200
    assert get(sandbox, "/api/v2/oauth/clients/wild", headers).status_code == 200
    role_id = get(sandbox, "/api/v2/oauth/clients/wild", headers).json()["roleIds"][0]
    assert get(sandbox, f"/api/v2/authorization/roles/{role_id}", headers).status_code == 403
