"""The two Genesys HTTP clients (``genesys.platform.http``, blocking, and
``genesys.platform.async_http``, the relay's event loop) against the sandbox: one set of
tests, run against both, since they share one retry policy and one error mapping."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from genesys.platform import async_http, errors, http
from genesys.platform.regions import api_base_url, get_region
from genesys.webchat import client as webchat
from genesys.webchat.client import WebChatSession
from ops.instruments import GENESYS_REQUESTS
from tests.genesys_sandbox.test_webchat import run

REGION = get_region("mypurecloud.de")

Send = Callable[..., Any]


def sync_send(method: str, url: str, **kwargs: Any) -> Any:
    response = http.send(method, url, **kwargs)
    return response.json() if response.content else None


def async_send(method: str, url: str, **kwargs: Any) -> Any:
    async def scenario() -> Any:
        async with aiohttp.ClientSession() as session:
            return await async_http.send(session, method, url, **kwargs)

    return run(scenario())


@pytest.fixture(params=["sync", "async"])
def send(request) -> Send:
    return {"sync": sync_send, "async": async_send}[request.param]


@pytest.fixture
def chat(genesys) -> WebChatSession:
    session = webchat.create_conversation(
        REGION,
        organization_id=genesys.organization_id,
        deployment_id=genesys.deployment_id,
        queue_name=genesys.queue_name,
        member_info={"displayName": "Ann"},
    )
    genesys.agent_join(session.conversation_id)
    return session


def member_url(chat: WebChatSession) -> str:
    return f"{api_base_url(REGION)}{webchat.member_path(chat)}"


def get_member(send: Send, chat: WebChatSession) -> Any:
    return send("GET", member_url(chat), what="the member lookup", headers=chat.authorization)


def post_message(send: Send, chat: WebChatSession, text: str = "Hello") -> Any:
    return send(
        "POST",
        f"{member_url(chat)}/messages",
        what="the web chat message",
        idempotent=False,
        headers=chat.authorization,
        json={"body": text, "bodyType": "standard"},
    )


def attempts(genesys, chat: WebChatSession, method: str = "GET", suffix: str = "") -> int:
    path = webchat.member_path(chat) + suffix
    return sum(1 for r in genesys.requests(path) if r["method"] == method and r["path"] == path)


def test_a_2xx_answers_its_json(send, genesys, chat):
    assert get_member(send, chat)["id"] == chat.member_id


def test_429_waits_its_retry_after_then_succeeds(send, genesys, chat):
    genesys.add_fault(webchat.member_path(chat), status=429, retry_after=0, times=1)

    assert get_member(send, chat)["id"] == chat.member_id
    assert attempts(genesys, chat) == 2


def test_a_retry_after_longer_than_allowed_fails_at_once_carrying_it(send, genesys, chat, settings):
    settings.GENESYS_HTTP_RETRY_AFTER_MAX_SECONDS = 1
    genesys.add_fault(webchat.member_path(chat), status=429, retry_after=60, times=5)

    with pytest.raises(errors.GenesysRateLimited, match="try again shortly") as error:
        get_member(send, chat)

    assert error.value.retry_after == 60
    assert attempts(genesys, chat) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_then_succeed(send, genesys, chat, status):
    genesys.add_fault(webchat.member_path(chat), status=status, times=2)

    assert get_member(send, chat)["id"] == chat.member_id
    assert attempts(genesys, chat) == 3


def test_a_5xx_gives_up_after_the_configured_attempts(send, genesys, chat):
    genesys.add_fault(webchat.member_path(chat), status=503, times=10)

    with pytest.raises(errors.GenesysUnavailable) as error:
        get_member(send, chat)

    assert "Genesys Cloud refused the member lookup (503)" in str(error.value)
    assert "Check the Host (region)" in str(error.value)
    assert attempts(genesys, chat) == 3


def test_500_is_not_retried(send, genesys, chat):
    genesys.add_fault(webchat.member_path(chat), status=500, times=10)

    with pytest.raises(errors.GenesysUnavailable):
        get_member(send, chat)

    assert attempts(genesys, chat) == 1


def test_404_is_not_found_with_genesys_context_id(send, genesys, chat):
    url = f"{api_base_url(REGION)}{webchat.member_path(chat, 'no-such-member')}"

    with pytest.raises(errors.GenesysNotFound) as error:
        send("GET", url, what="the member lookup", headers=chat.authorization)

    assert error.value.status == 404
    assert error.value.context_id
    assert f"contextId {error.value.context_id}" in str(error.value)


def test_401_is_an_authentication_error(send, genesys, chat):
    with pytest.raises(errors.GenesysAuthenticationError) as error:
        send("GET", member_url(chat), what="the member lookup", headers={"Authorization": "x"})

    assert error.value.status == 401


def test_the_web_chat_ended_codes_are_conversation_ended(send, genesys, chat):
    genesys.agent_leave(chat.conversation_id, end_conversation=True)

    with pytest.raises(errors.GenesysConversationEnded) as error:
        post_message(send, chat)

    assert error.value.code in ("chat.error.conversation.state", "chat.error.member.state")


def test_a_timeout_once_then_success(send, genesys, chat, settings):
    settings.GENESYS_HTTP_READ_TIMEOUT = 0.3
    genesys.add_fault(webchat.member_path(chat), delay_seconds=1.0, times=1)

    assert get_member(send, chat)["id"] == chat.member_id
    assert attempts(genesys, chat) == 2


def test_timeouts_are_retried_then_reported(send, genesys, chat, settings):
    settings.GENESYS_HTTP_READ_TIMEOUT = 0.3
    genesys.add_fault(webchat.member_path(chat), delay_seconds=1.0, times=10)

    with pytest.raises(errors.GenesysUnavailable, match=r"did not answer within 0\.3 s"):
        get_member(send, chat)

    assert attempts(genesys, chat) == 3


def test_a_call_that_is_not_idempotent_is_not_retried_where_genesys_may_have_acted(
    send, genesys, chat, settings
):
    settings.GENESYS_HTTP_READ_TIMEOUT = 0.3
    genesys.add_fault(webchat.member_path(chat) + "/messages", method="POST", status=503)
    with pytest.raises(errors.GenesysUnavailable):
        post_message(send, chat)
    genesys.add_fault(webchat.member_path(chat) + "/messages", method="POST", delay_seconds=1)
    with pytest.raises(errors.GenesysUnavailable, match="did not answer"):
        post_message(send, chat)

    assert attempts(genesys, chat, "POST", "/messages") == 2


def test_a_call_that_is_not_idempotent_is_retried_after_a_429(send, genesys, chat):
    genesys.add_fault(webchat.member_path(chat) + "/messages", method="POST", status=429)

    assert post_message(send, chat, "Once")["body"] == "Once"

    assert attempts(genesys, chat, "POST", "/messages") == 2
    bodies = [m["body"] for m in genesys.conversation(chat.conversation_id)["messages"]]
    assert bodies.count("Once") == 1


def test_unreachable_genesys_is_reported_by_host(send, genesys, chat):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(errors.GenesysUnavailable, match=f"127.0.0.1:{port} could not be reached"):
        send("GET", f"http://127.0.0.1:{port}/api/v2/x", what="the member lookup")


def test_every_attempt_is_counted_by_method_and_status(send, genesys, chat):
    def count(status: str) -> float:
        return GENESYS_REQUESTS.labels(method="GET", status=status)._value.get()

    before = count("503"), count("200")
    genesys.add_fault(webchat.member_path(chat), status=503, times=1)

    get_member(send, chat)

    assert (count("503") - before[0], count("200") - before[1]) == (1, 1)


# WebSocket connects (event streams, notification channels): once, failures typed alike


def connect(uri: str, **kwargs: Any) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await async_http.connect_websocket(session, uri, what="the stream", **kwargs)
            await ws.close()

    run(scenario())


def test_a_websocket_connect_refused_by_status_is_that_status_error(genesys, chat):
    genesys.add_fault("/channels/", status=429, retry_after=3)
    with pytest.raises(errors.GenesysRateLimited) as limited:
        connect(chat.event_stream_uri)
    genesys.add_fault("/channels/", status=503)
    with pytest.raises(errors.GenesysUnavailable) as unavailable:
        connect(chat.event_stream_uri)

    assert limited.value.retry_after == 3
    assert unavailable.value.status == 503
    for error in (limited.value, unavailable.value):
        assert chat.event_stream_uri.rsplit("/", 1)[1] not in str(error)  # no URI, no token
    connect(chat.event_stream_uri)  # and it connects once Genesys lets it


def test_a_websocket_connect_that_gets_no_answer_times_out(settings):
    settings.GENESYS_HTTP_CONNECT_TIMEOUT, settings.GENESYS_HTTP_READ_TIMEOUT = 0.2, 0.3
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        with pytest.raises(errors.GenesysUnavailable, match=r"did not answer within 0\.5 s"):
            connect(f"ws://127.0.0.1:{port}/channels/x")
