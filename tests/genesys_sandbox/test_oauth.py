from __future__ import annotations

import pytest
import requests

from tests.genesys_sandbox.conftest import TIMEOUT, assert_error_body
from tests.sandbox import SandboxServer


def request_token(sandbox: SandboxServer, auth=None, data=None) -> requests.Response:
    return requests.post(
        f"{sandbox.url}/oauth/token",
        auth=auth,
        data=data if data is not None else {"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    )


def get_queue(sandbox: SandboxServer, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(
        f"{sandbox.url}/api/v2/routing/queues/{sandbox.queue_id}", headers=headers, timeout=TIMEOUT
    )


def test_client_credentials_issue_a_bearer_token(sandbox):
    response = request_token(sandbox, auth=("sandbox-client", "sandbox-secret"))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86400
    assert get_queue(sandbox, body["access_token"]).status_code == 200


def test_each_token_is_new(sandbox):
    auth = ("sandbox-client", "sandbox-secret")
    first = request_token(sandbox, auth=auth).json()["access_token"]
    second = request_token(sandbox, auth=auth).json()["access_token"]
    assert first != second


@pytest.mark.parametrize(
    "auth",
    [None, ("sandbox-client", "wrong"), ("nobody", "sandbox-secret")],
    ids=["missing", "wrong-secret", "unknown-client"],
)
def test_bad_client_credentials_are_refused(sandbox, auth):
    response = request_token(sandbox, auth=auth)

    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["description"]
    assert body["error_description"]


def test_other_grant_types_are_refused(sandbox):
    response = request_token(
        sandbox, auth=("sandbox-client", "sandbox-secret"), data={"grant_type": "password"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_scope_is_ignored(sandbox):
    response = request_token(
        sandbox,
        auth=("sandbox-client", "sandbox-secret"),
        data={"grant_type": "client_credentials", "scope": "anything"},
    )
    assert response.status_code == 200


def test_api_refuses_missing_unknown_and_expired_tokens(sandbox, token):
    assert_error_body(get_queue(sandbox, None), 401, "authentication.required")
    assert_error_body(get_queue(sandbox, "not-a-token"), 401, "bad.credentials")

    sandbox.expire_tokens()

    assert_error_body(get_queue(sandbox, token), 401, "bad.credentials")
    fresh = request_token(sandbox, auth=("sandbox-client", "sandbox-secret")).json()
    assert get_queue(sandbox, fresh["access_token"]).status_code == 200


def test_token_lifetime_follows_the_client(sandbox):
    sandbox.put_client("short", "short-secret", token_ttl_seconds=300)

    body = request_token(sandbox, auth=("short", "short-secret")).json()

    assert body["expires_in"] == 300


def test_a_deleted_client_can_no_longer_use_its_tokens(sandbox):
    sandbox.put_client("temp", "temp-secret")
    token = request_token(sandbox, auth=("temp", "temp-secret")).json()["access_token"]

    sandbox.delete_client("temp")

    assert_error_body(get_queue(sandbox, token), 401, "bad.credentials")
    assert request_token(sandbox, auth=("temp", "temp-secret")).status_code == 401


def test_missing_permission_answers_403_naming_it(sandbox):
    sandbox.put_client("routing-only", "secret-1", permissions=["routing:queue:view"])
    token = request_token(sandbox, auth=("routing-only", "secret-1")).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    assert get_queue(sandbox, token).status_code == 200
    response = requests.post(
        f"{sandbox.url}/api/v2/analytics/queues/observations/query",
        headers=headers,
        json={
            "filter": {
                "type": "and",
                "predicates": [{"dimension": "queueId", "value": sandbox.queue_id}],
            },
            "metrics": ["oWaiting"],
        },
        timeout=TIMEOUT,
    )

    body = assert_error_body(response, 403, "missing.permissions")
    assert body["message"] == (
        "Unable to perform the requested action. You are missing the following "
        "permission(s): analytics:queueObservation:view"
    )


def test_the_token_endpoint_logs_no_secret(sandbox):
    request_token(sandbox, auth=("sandbox-client", "sandbox-secret"))

    [entry] = sandbox.requests("/oauth/token")

    assert entry["headers"]["Authorization"] == "Basic"
    assert entry["form"] == {"grant_type": "client_credentials"}
    assert "sandbox-secret" not in str(entry)
