from __future__ import annotations

import time

import pytest
import requests

from tests.genesys_sandbox.conftest import TIMEOUT, assert_error_body

QUEUE_PATH = "/api/v2/routing/queues/{}"


def get_queue(sandbox, token, timeout=TIMEOUT) -> requests.Response:
    return requests.get(
        f"{sandbox.url}{QUEUE_PATH.format(sandbox.queue_id)}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )


def test_a_429_fault_carries_retry_after_once(sandbox, token):
    sandbox.add_fault("/api/v2/routing", status=429, retry_after=7)

    response = get_queue(sandbox, token)

    body = assert_error_body(response, 429, "too.many.requests")
    assert response.headers["Retry-After"] == "7"
    assert body["contextId"]
    assert get_queue(sandbox, token).status_code == 200


def test_a_fault_applies_times_then_stops(sandbox, token):
    sandbox.add_fault("/api/v2/routing", status=503, times=2)

    statuses = [get_queue(sandbox, token).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]


def test_a_fault_matches_method_and_prefix(sandbox, token):
    sandbox.add_fault("/api/v2/analytics", method="POST", status=500)

    assert get_queue(sandbox, token).status_code == 200
    assert sandbox.state()["faults"][0]["times"] == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_error_faults_have_genesys_bodies(sandbox, token, status):
    sandbox.add_fault("/api/v2/routing", status=status)
    response = get_queue(sandbox, token)
    assert response.status_code == status
    assert response.json()["status"] == status


def test_a_delay_fault_times_out_a_client(sandbox, token):
    sandbox.add_fault("/api/v2/routing", delay_seconds=1.0)

    with pytest.raises(requests.Timeout):
        get_queue(sandbox, token, timeout=0.2)
    started = time.monotonic()
    assert get_queue(sandbox, token).status_code == 200
    assert time.monotonic() - started < 0.5


def test_a_delay_then_answer_normally(sandbox, token):
    sandbox.add_fault("/api/v2/routing", delay_seconds=0.3)
    started = time.monotonic()

    assert get_queue(sandbox, token).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_timed_fault_fails_every_request_until_it_runs_out(sandbox, token):
    sandbox.add_fault("/api/v2/routing", status=503, for_seconds=0.5)

    statuses = [get_queue(sandbox, token).status_code for _ in range(5)]
    assert statuses == [503] * 5
    assert sandbox.state()["faults"][0]["seconds_left"] > 0
    time.sleep(0.6)
    assert get_queue(sandbox, token).status_code == 200
    assert sandbox.state()["faults"] == []


def test_request_counts_outlive_the_capped_log(sandbox, token):
    for _ in range(3):
        get_queue(sandbox, token)

    assert sandbox.request_count("/api/v2/routing") == 3
    assert sandbox.request_count("/api/v2/routing", method="POST") == 0
    assert sandbox.request_count() == 4  # and the token request
    sandbox.clear_requests()
    assert sandbox.request_count() == 0


def test_faults_apply_to_the_token_endpoint_too(sandbox):
    sandbox.add_fault("/oauth/token", status=503)
    response = requests.post(
        f"{sandbox.url}/oauth/token",
        auth=(sandbox.client_id, sandbox.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 503


def test_clear_faults(sandbox, token):
    sandbox.add_fault("/api", status=500, times=5)
    sandbox.clear_faults()
    assert get_queue(sandbox, token).status_code == 200


def test_request_log_redacts_authorization_and_skips_control(sandbox, token):
    requests.post(
        f"{sandbox.url}/api/v2/analytics/queues/observations/query?x=1",
        headers={"Authorization": f"Bearer {token}"},
        json={"filter": {"type": "and", "predicates": []}, "metrics": ["oWaiting"]},
        timeout=TIMEOUT,
    )

    log = sandbox.requests()
    analytics = sandbox.requests("/api/v2/analytics")

    assert [entry["path"] for entry in log] == [
        "/oauth/token",
        "/api/v2/analytics/queues/observations/query",
    ]
    [entry] = analytics
    assert entry["method"] == "POST"
    assert entry["query"] == {"x": "1"}
    assert entry["headers"]["Authorization"] == "Bearer"
    assert entry["json"]["metrics"] == ["oWaiting"]
    assert entry["form"] is None
    assert entry["at"].endswith("Z")
    assert token not in str(log)

    sandbox.clear_requests()
    assert sandbox.requests() == []


def test_the_server_log_holds_no_credentials(sandbox, token):
    get_queue(sandbox, token)
    log = sandbox.log_path.read_text()
    assert f"GET {QUEUE_PATH.format(sandbox.queue_id)} 200" in log
    assert token not in log
    assert "sandbox-secret" not in log


def test_reset_restores_the_demo_world(sandbox, token):
    sandbox.put_client("extra", "extra-secret")
    sandbox.put_queue(agents_idle=0)
    sandbox.create_chat("Ann")
    sandbox.add_fault("/api", status=500)

    sandbox.reset()

    state = sandbox.state()
    assert [c["client_id"] for c in state["clients"]] == ["sandbox-client"]
    assert "client_secret" not in str(state["clients"])
    assert state["queues"][0]["agents_idle"] == 1
    assert state["faults"] == []
    assert state["conversations"] == []
    assert sandbox.requests() == []
    assert_error_body(get_queue(sandbox, token), 401, "bad.credentials")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/sandbox/queues/q", b"{oops"),
        ("PUT", "/sandbox/queues/q", b'{"name": "Q", "agents_on_queue": "two"}'),
        ("PUT", "/sandbox/queues/q", b'{"name": "Q", "agents_on_queue": 1, "agents_idle": 2}'),
        ("PUT", "/sandbox/oauth-clients/c", b'{"client_secret": 5}'),
        ("PUT", "/sandbox/oauth-clients/c", b'{"client_secret": "s", "permissions": "all"}'),
        ("POST", "/sandbox/faults", b'{"path_prefix": "/api", "status": 200}'),
        ("POST", "/sandbox/faults", b'{"path_prefix": "/api"}'),
        ("POST", "/sandbox/faults", b'{"status": 500}'),
        ("PUT", "/sandbox/settings", b'{"heartbeat_seconds": 0}'),
        ("POST", "/api/v2/webchat/guest/conversations", b"\xff\xfe"),
        ("POST", "/api/v2/webchat/guest/conversations", b'"a string"'),
    ],
)
def test_bad_input_gets_a_400_error_body(sandbox, method, path, body):
    response = requests.request(
        method,
        f"{sandbox.url}{path}",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert_error_body(response, 400, "bad.request")


def test_huge_bodies_are_413(sandbox):
    response = requests.post(
        f"{sandbox.url}/api/v2/webchat/guest/conversations",
        data=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert_error_body(response, 413, "request.entity.too.large")


def test_unknown_paths_are_404_error_bodies(sandbox):
    response = requests.get(f"{sandbox.url}/api/v2/nothing/here", timeout=TIMEOUT)
    assert_error_body(response, 404, "not.found")
