from __future__ import annotations

import pytest
import requests

from tests.sandbox import SandboxServer

TIMEOUT = 5


@pytest.fixture
def token(sandbox: SandboxServer) -> str:
    """A bearer token of the demo client."""
    response = requests.post(
        f"{sandbox.url}/oauth/token",
        auth=(sandbox.client_id, sandbox.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def assert_error_body(response: requests.Response, status: int, code: str) -> dict:
    """A Genesys ErrorBody (SDK ``ErrorBody.attribute_map``) with this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert {"message", "code", "status", "messageParams", "contextId", "details", "errors"} <= set(
        body
    )
    assert body["status"] == status
    assert body["code"] == code
    return body
