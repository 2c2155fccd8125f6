from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from genesys.platform import errors
from genesys.platform.regions import check_event_stream_uri, get_region
from genesys.webchat import client as webchat
from genesys.webchat.client import WebChatSession
from tests.genesys_sandbox.test_webchat import run

REGION = get_region("mypurecloud.de")
GUEST = "/api/v2/webchat/guest/conversations"


def relay_read(read, *args: Any, **kwargs: Any) -> Any:
    """One of the relay's reads (``webchat.fetch_*``) on an event loop of its own."""

    async def scenario() -> Any:
        async with aiohttp.ClientSession() as http:
            return await read(http, REGION, *args, timeout=5.0, **kwargs)

    return run(scenario())


def create(sandbox, **member_info) -> WebChatSession:
    return webchat.create_conversation(
        REGION,
        organization_id=sandbox.organization_id,
        deployment_id=sandbox.deployment_id,
        queue_name=sandbox.queue_name,
        member_info={"displayName": "Ann", **member_info},
    )


def test_create_sends_the_request_body_and_no_oauth(genesys):
    session = create(genesys)

    [logged] = genesys.requests(GUEST)
    assert logged["method"] == "POST"
    assert logged["json"] == {
        "organizationId": genesys.organization_id,
        "deploymentId": genesys.deployment_id,
        "routingTarget": {"targetType": "QUEUE", "targetAddress": genesys.queue_name},
        "memberInfo": {"displayName": "Ann"},
    }
    assert "Authorization" not in logged["headers"]
    conversation = genesys.conversation(session.conversation_id)
    assert conversation["customer"]["id"] == session.member_id
    assert session.event_stream_uri.startswith(f"ws://127.0.0.1:{genesys.port}/channels/")


def test_create_sends_profile_fields_only_as_given(genesys):
    create(genesys, email="ann@example.com", customFields={"customerId": "42"})

    [logged] = genesys.requests(GUEST)
    assert logged["json"]["memberInfo"] == {
        "displayName": "Ann",
        "email": "ann@example.com",
        "customFields": {"customerId": "42"},
    }


def test_session_repr_hides_the_jwt_and_stream_uri(genesys):
    session = create(genesys)

    for text in (repr(session), str(session)):
        assert session.conversation_id in text
        assert session.jwt not in text
        assert "channels" not in text


def test_a_whole_chat_as_the_guest(genesys):
    session = create(genesys)
    cid = session.conversation_id
    agent_id = genesys.agent_join(cid, "Alex Agent")["member"]["id"]

    sent = webchat.send_message(REGION, session, "Hello")
    webchat.send_typing(REGION, session)
    agent_message = genesys.agent_send(cid, "Hi Ann")

    assert sent["body"] == "Hello"
    assert sent["sender"]["id"] == session.member_id
    calls = genesys.requests(f"{GUEST}/{cid}/members/{session.member_id}/")
    assert [(c["method"], c["path"].rsplit("/", 1)[1]) for c in calls] == [
        ("POST", "messages"),
        ("POST", "typing"),
    ]
    assert all(c["headers"]["Authorization"] == "Bearer" for c in calls)
    assert calls[0]["json"] == {"body": "Hello", "bodyType": "standard"}

    history, more = relay_read(webchat.fetch_history_page, session, after=None)
    assert not more
    assert [m["id"] for m in history][-2:] == [sent["id"], agent_message]
    after_sent, _ = relay_read(webchat.fetch_history_page, session, after=sent["id"])
    assert after_sent == history[-1:]

    agent = relay_read(webchat.fetch_member, session, agent_id)
    assert (agent["role"], agent["displayName"], agent["state"]) == (
        "AGENT",
        "Alex Agent",
        "CONNECTED",
    )
    members = relay_read(webchat.fetch_members, session)
    assert {m["id"]: m["role"] for m in members}[session.member_id] == "CUSTOMER"

    webchat.disconnect(REGION, session)
    assert genesys.conversation(cid)["state"] == "ended"
    webchat.disconnect(REGION, session)  # already over: still success


def test_history_pages_are_read_by_cursor_in_order(genesys, monkeypatch):
    monkeypatch.setattr(webchat, "MAX_PAGE_SIZE", 3)
    session = create(genesys)
    genesys.agent_join(session.conversation_id)
    ids = [genesys.agent_send(session.conversation_id, f"m{n}") for n in range(7)]

    history: list[dict[str, Any]] = []
    cursor, more = None, True
    while more:
        page, more = relay_read(webchat.fetch_history_page, session, after=cursor)
        history += page
        cursor = page[-1]["id"]

    assert [m["id"] for m in history if m["bodyType"] == "standard"] == ids
    pages = genesys.requests(f"{GUEST}/{session.conversation_id}/messages")
    assert len(pages) == 3  # 1 member-join + 7 messages, 3 a page
    assert [p["query"].get("after") for p in pages][1:] == [history[2]["id"], history[5]["id"]]


def test_send_after_the_agent_ended_is_conversation_ended(genesys):
    session = create(genesys)
    genesys.agent_join(session.conversation_id)
    genesys.agent_leave(session.conversation_id, end_conversation=True)

    with pytest.raises(errors.GenesysConversationEnded) as error:
        webchat.send_message(REGION, session, "Still there?")

    assert error.value.status == 400
    assert error.value.code in ("chat.error.conversation.state", "chat.error.member.state")
    assert isinstance(error.value, errors.GenesysBadRequest)
    webchat.disconnect(REGION, session)  # nothing left to leave: success


def test_find_sent_message_finds_only_our_own_sent_message(genesys):
    session = create(genesys)
    genesys.agent_join(session.conversation_id)
    since = datetime.now(UTC)
    genesys.agent_send(session.conversation_id, "Same words")
    sent = webchat.send_message(REGION, session, "Same words")

    assert webchat.find_sent_message(REGION, session, "Same words", since=since) == sent["id"]
    assert webchat.find_sent_message(REGION, session, "Never sent", since=since) is None
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert webchat.find_sent_message(REGION, session, "Same words", since=later) is None


def test_find_sent_message_skips_other_rows_ids_and_stops_at_the_previous_row(genesys):
    session = create(genesys)
    since = datetime.now(UTC)
    first = webchat.send_message(REGION, session, "yes")["id"]
    previous = webchat.send_message(REGION, session, "ok")["id"]

    def find(**kwargs):
        return webchat.find_sent_message(REGION, session, "yes", since=since, **kwargs)

    assert find() == first
    assert find(already_sent=frozenset({first})) is None  # another row's message
    assert find(stop_at=previous) is None  # older than the previous row's message
    again = webchat.send_message(REGION, session, "yes")["id"]
    assert find(already_sent=frozenset({first, previous}), stop_at=previous) == again


def test_a_503_on_send_is_not_retried_and_find_sent_message_says_it_was_not_sent(genesys):
    session = create(genesys)
    genesys.agent_join(session.conversation_id)
    path = f"{GUEST}/{session.conversation_id}/members/{session.member_id}/messages"
    genesys.add_fault(path, method="POST", status=503)
    since = datetime.now(UTC)

    with pytest.raises(errors.GenesysUnavailable):
        webchat.send_message(REGION, session, "Hello")

    assert len(genesys.requests(path)) == 1
    assert webchat.find_sent_message(REGION, session, "Hello", since=since) is None


def test_a_429_on_send_is_retried(genesys):
    session = create(genesys)
    genesys.agent_join(session.conversation_id)
    path = f"{GUEST}/{session.conversation_id}/members/{session.member_id}/messages"
    genesys.add_fault(path, method="POST", status=429, retry_after=0)

    sent = webchat.send_message(REGION, session, "Hello")

    assert len(genesys.requests(path)) == 2
    bodies = [m["body"] for m in genesys.conversation(session.conversation_id)["messages"]]
    assert bodies.count("Hello") == 1
    assert sent["body"] == "Hello"


def test_a_503_on_create_is_not_retried(genesys):
    genesys.add_fault(GUEST, method="POST", status=503)

    with pytest.raises(errors.GenesysUnavailable):
        create(genesys)

    assert len(genesys.requests(GUEST)) == 1
    assert genesys.conversations() == []


def test_no_jwt_in_logs_or_errors(genesys, caplog):
    caplog.set_level(logging.DEBUG)
    session = create(genesys)
    path = f"{GUEST}/{session.conversation_id}/members/{session.member_id}"
    genesys.add_fault(path, status=503, times=10)
    failures = []
    for call in (
        lambda: webchat.send_message(REGION, session, "Hello"),
        lambda: webchat.send_typing(REGION, session),
        lambda: relay_read(webchat.fetch_member, session, session.member_id),
    ):
        with pytest.raises(errors.GenesysError) as error:
            call()
        failures.append(error.value)
    forged = WebChatSession(session.conversation_id, session.member_id, "x.forged.jwt", "")
    for call in (
        lambda: webchat.find_sent_message(REGION, forged, "Hello", since=datetime.now(UTC)),
        lambda: relay_read(webchat.fetch_history_page, forged, after=None),
    ):
        with pytest.raises(errors.GenesysAuthenticationError) as error:
            call()
        failures.append(error.value)

    jwt_parts = session.jwt.split(".")
    for text in [r.getMessage() for r in caplog.records] + [str(f) for f in failures]:
        assert session.jwt not in text
        assert "x.forged.jwt" not in text
        assert jwt_parts[2] not in text
    assert any("503" in r.getMessage() for r in caplog.records)


# The event-stream URI guard (genesys.platform.regions.check_event_stream_uri)


@pytest.mark.parametrize(
    "uri",
    [
        "wss://mypurecloud.de/channels/streaming-0-abc",
        "wss://carrierpigeon.mypurecloud.de/channels/streaming-0-abc",
        "wss://webmessaging.mypurecloud.de:443/v1?deploymentId=x",
        "WSS://CarrierPigeon.MyPureCloud.de/channels/x",
    ],
)
def test_stream_uri_on_the_region_is_accepted(uri, settings):
    settings.GENESYS_API_BASE_URL = ""
    assert check_event_stream_uri(REGION, uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "ws://carrierpigeon.mypurecloud.de/channels/x",
        "https://carrierpigeon.mypurecloud.de/channels/x",
        "wss://carrierpigeon.mypurecloud.ie/channels/x",
        "wss://mypurecloud.de.evil.com/channels/x",
        "wss://evilmypurecloud.de/channels/x",
        "wss://carrierpigeon.mypurecloud.de:8443/channels/x",
        "wss://user:pw@carrierpigeon.mypurecloud.de/channels/x",
        "wss://carrierpigeon.mypurecloud.de@evil.com/channels/x",
        "wss://127.0.0.1/channels/x",
        "wss://[::1/channels/x",
        "wss://carrierpigeon.mypurecloud.de:99999/x",
        "",
    ],
)
def test_any_other_stream_uri_is_refused(uri, settings):
    settings.GENESYS_API_BASE_URL = ""
    with pytest.raises(errors.GenesysError) as error:
        check_event_stream_uri(REGION, uri + "?token=s3cr3t")
    assert "s3cr3t" not in str(error.value)
    assert "/channels" not in str(error.value)


@pytest.mark.parametrize(
    ("base", "uri", "ok"),
    [
        ("http://127.0.0.1:8765", "ws://127.0.0.1:8765/channels/x", True),
        ("http://127.0.0.1:8765/", "wss://127.0.0.1:8765/channels/x", True),
        ("http://127.0.0.1:8765", "ws://127.0.0.1:8766/channels/x", False),
        ("http://127.0.0.1:8765", "ws://localhost:8765/channels/x", False),
        ("http://127.0.0.1:8765", "wss://carrierpigeon.mypurecloud.de/channels/x", False),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/channels/x", False),
        ("https://sandbox.example", "wss://sandbox.example/channels/x", True),
        ("https://sandbox.example", "wss://sandbox.example:443/channels/x", True),
        ("https://sandbox.example", "ws://sandbox.example:443/channels/x", False),
        ("https://sandbox.example", "ws://sandbox.example/channels/x", False),
    ],
)
def test_with_a_base_override_the_stream_must_use_its_host_and_port(settings, base, uri, ok):
    settings.GENESYS_API_BASE_URL = base
    if ok:
        assert check_event_stream_uri(REGION, uri) == uri
    else:
        with pytest.raises(errors.GenesysError, match="GENESYS_API_BASE_URL"):
            check_event_stream_uri(REGION, uri)


def test_the_sandbox_stream_uri_passes_the_guard(genesys):
    session = create(genesys)
    assert check_event_stream_uri(REGION, session.event_stream_uri) == session.event_stream_uri
