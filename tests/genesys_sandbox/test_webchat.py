from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest
import requests

from tests.genesys_sandbox.conftest import TIMEOUT, assert_error_body

GUEST = "/api/v2/webchat/guest/conversations"
EVENT_TIMEOUT = 3


def guest(sandbox, chat, method, path, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {chat['jwt']}"}
    return requests.request(
        method,
        f"{sandbox.url}{GUEST}/{chat['id']}{path}",
        headers=headers,
        timeout=TIMEOUT,
        **kwargs,
    )


def send(sandbox, chat, body, body_type="standard") -> requests.Response:
    path = f"/members/{chat['member']['id']}/messages"
    return guest(sandbox, chat, "POST", path, json={"body": body, "bodyType": body_type})


async def next_event(ws: aiohttp.ClientWebSocketResponse, *, heartbeats: bool = False) -> dict:
    """The next frame, skipping heartbeats unless asked for."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    while True:
        frame = await ws.receive_json(timeout=max(deadline - time.monotonic(), 0.01))
        if heartbeats or frame["topicName"] != "channel.metadata":
            return frame


def run(coroutine) -> Any:
    """Run a scenario on its own loop in a thread: other suites (Playwright's sync API) may
    leave an event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def test_create_returns_the_sdk_shape(sandbox):
    chat = sandbox.create_chat(
        "Ann",
        firstName="Ann",
        lastName="Lee",
        email="ann@example.com",
        customFields={"customerId": "42"},
    )

    # CreateWebChatConversationResponse.attribute_map: id, jwt, eventStreamUri, member.
    assert set(chat) == {"id", "jwt", "eventStreamUri", "member"}
    assert chat["jwt"].count(".") == 2
    assert chat["eventStreamUri"].startswith(f"ws://127.0.0.1:{sandbox.port}/")
    # WebChatMemberInfo.attribute_map names.
    member = chat["member"]
    assert member["role"] == "CUSTOMER"
    assert member["state"] == "CONNECTED"
    assert member["displayName"] == "Ann"
    assert member["customFields"] == {"customerId": "42"}
    assert {"id", "joinDate", "authenticatedGuest", "firstName", "lastName", "email"} <= set(member)

    [conversation] = sandbox.conversations()
    assert conversation["state"] == "waiting"
    assert conversation["customer"]["customFields"] == {"customerId": "42"}


def test_a_waiting_chat_counts_in_o_waiting(sandbox, token):
    sandbox.create_chat("Ann")
    body = {
        "filter": {
            "type": "and",
            "predicates": [{"dimension": "queueId", "value": sandbox.queue_id}],
        },
        "metrics": ["oWaiting"],
    }

    def waiting() -> int:
        response = requests.post(
            f"{sandbox.url}/api/v2/analytics/queues/observations/query",
            headers={"Authorization": f"Bearer {token}"},
            json=body,
            timeout=TIMEOUT,
        )
        return response.json()["results"][0]["data"][0]["stats"]["count"]

    assert waiting() == 1
    body["filter"]["predicates"].append({"dimension": "mediaType", "value": "email"})
    assert waiting() == 0
    body["filter"]["predicates"][-1]["value"] = "chat"
    assert waiting() == 1
    sandbox.agent_join(sandbox.conversations()[0]["id"])
    assert waiting() == 0


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"organizationId": "0d1c2b3a-0000-4000-8000-000000000000"}, 400, "invalid.organization"),
        ({"deploymentId": "0d1c2b3a-0000-4000-8000-000000000000"}, 404, "not.found"),
        (
            {"routingTarget": {"targetType": "QUEUE", "targetAddress": "No Such Queue"}},
            400,
            "chat.error.invalid.queue",
        ),
        ({"memberInfo": {}}, 400, "bad.request"),
        ({"memberInfo": {"displayName": "A", "customFields": {"n": 1}}}, 400, "bad.request"),
    ],
)
def test_create_refuses_bad_targets(sandbox, change, status, code):
    body = {
        "organizationId": sandbox.organization_id,
        "deploymentId": sandbox.deployment_id,
        "routingTarget": {"targetType": "QUEUE", "targetAddress": sandbox.queue_name},
        "memberInfo": {"displayName": "Ann"},
        **change,
    }
    response = requests.post(f"{sandbox.url}{GUEST}", json=body, timeout=TIMEOUT)
    assert_error_body(response, status, code)


def test_a_whole_chat_over_the_event_stream(sandbox):
    chat = sandbox.create_chat("Ann")
    cid, me = chat["id"], chat["member"]["id"]
    messages_topic = f"v2.conversations.chats.{cid}.messages"
    members_topic = f"v2.conversations.chats.{cid}.members"

    async def scenario() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(chat["eventStreamUri"]) as ws,
        ):
            joined = sandbox.agent_join(cid, "Alex Agent")
            agent_id = joined["member"]["id"]
            assert joined["member"]["role"] == "AGENT"

            acd_left = await next_event(ws)
            assert acd_left["topicName"] == members_topic
            assert acd_left["metadata"]["type"] == "member-change"
            assert acd_left["eventBody"]["member"]["state"] == "DISCONNECTED"
            agent_joined = await next_event(ws)
            assert agent_joined["version"] == "2"
            assert agent_joined["eventBody"]["member"] == {"id": agent_id, "state": "CONNECTED"}
            assert set(agent_joined["eventBody"]) == {"conversation", "member", "timestamp"}
            join_message = await next_event(ws)
            assert join_message["eventBody"]["bodyType"] == "member-join"

            # The guest's own message is echoed.
            sent = send(sandbox, chat, "Hello").json()
            echo = await next_event(ws)
            assert echo["topicName"] == messages_topic
            assert echo["metadata"]["type"] == "message"
            assert echo["eventBody"] == sent
            assert sent["sender"] == {"id": me}
            # WebChatMessage.attribute_map names.
            assert {"id", "conversation", "sender", "body", "bodyType", "timestamp"} <= set(sent)

            reply_id = sandbox.agent_send(cid, "Hi, Alex here")
            reply = await next_event(ws)
            assert reply["eventBody"]["id"] == reply_id
            assert reply["eventBody"]["sender"] == {"id": agent_id}
            assert reply["eventBody"]["body"] == "Hi, Alex here"

            sandbox.agent_typing(cid)
            typing = await next_event(ws)
            assert typing["metadata"]["type"] == "typing-indicator"
            assert typing["eventBody"]["sender"] == {"id": agent_id}
            assert set(typing["eventBody"]) == {"id", "conversation", "sender", "timestamp"}

            response = guest(sandbox, chat, "POST", f"/members/{me}/typing")
            assert response.status_code == 200
            assert (await next_event(ws))["eventBody"]["sender"] == {"id": me}

            sandbox.agent_leave(cid, end_conversation=True)
            agent_left = await next_event(ws)
            assert agent_left["eventBody"]["member"] == {"id": agent_id, "state": "DISCONNECTED"}
            assert (await next_event(ws))["eventBody"]["bodyType"] == "member-leave"
            me_left = await next_event(ws)
            assert me_left["eventBody"]["member"] == {"id": me, "state": "DISCONNECTED"}

    run(scenario())

    assert_error_body(send(sandbox, chat, "Still there?"), 400, "chat.error.conversation.state")
    assert sandbox.conversation(cid)["state"] == "ended"


def test_several_sockets_get_every_event(sandbox):
    chat = sandbox.create_chat("Ann")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(chat["eventStreamUri"])
            second = await session.ws_connect(chat["eventStreamUri"])
            send(sandbox, chat, "Hello")
            assert (await next_event(first))["eventBody"]["body"] == "Hello"
            assert (await next_event(second))["eventBody"]["body"] == "Hello"
            await first.close()
            await second.close()

    run(scenario())


def test_heartbeats_come_at_the_set_period(sandbox):
    sandbox.settings(heartbeat_seconds=0.2)
    chat = sandbox.create_chat("Ann")

    async def scenario() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(chat["eventStreamUri"]) as ws,
        ):
            started = time.monotonic()
            frames = [await next_event(ws, heartbeats=True) for _ in range(3)]
            elapsed = time.monotonic() - started
            assert (
                frames
                == [
                    {
                        "topicName": "channel.metadata",
                        "eventBody": {"message": "WebSocket Heartbeat"},
                    }
                ]
                * 3
            )
            assert 0.5 <= elapsed < 1.5

    run(scenario())


def test_drop_streams_closes_sockets_and_nothing_is_replayed(sandbox):
    chat = sandbox.create_chat("Ann")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(chat["eventStreamUri"])
            assert sandbox.drop_streams() == 1
            message = await ws.receive(timeout=EVENT_TIMEOUT)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)

            send(sandbox, chat, "While away")
            async with session.ws_connect(chat["eventStreamUri"]) as again:
                send(sandbox, chat, "After reconnect")
                assert (await next_event(again))["eventBody"]["body"] == "After reconnect"

    run(scenario())


def test_an_unknown_stream_is_404(sandbox):
    response = requests.get(f"{sandbox.url}/channels/streaming-0-nope", timeout=TIMEOUT)
    assert_error_body(response, 404, "not.found")


def test_history_pages(sandbox):
    chat = sandbox.create_chat("Ann")
    ids = [send(sandbox, chat, f"m{i}").json()["id"] for i in range(5)]

    first = guest(sandbox, chat, "GET", "/messages", params={"maxResults": 2}).json()
    # WebChatMessageEntityList.attribute_map: pageSize, entities, previousPage, selfUri, next.
    assert [m["id"] for m in first["entities"]] == ids[:2]
    assert first["pageSize"] == 2
    second = requests.get(
        f"{sandbox.url}{first['next']}",
        headers={"Authorization": f"Bearer {chat['jwt']}"},
        timeout=TIMEOUT,
    ).json()
    assert [m["id"] for m in second["entities"]] == ids[2:4]

    latest = guest(
        sandbox, chat, "GET", "/messages", params={"sortOrder": "descending", "maxResults": 3}
    ).json()
    assert [m["body"] for m in latest["entities"]] == ["m4", "m3", "m2"]
    assert "before=" in latest["next"]

    after = guest(sandbox, chat, "GET", "/messages", params={"after": ids[3]}).json()
    assert [m["id"] for m in after["entities"]] == [ids[4]]
    assert "next" not in after
    before = guest(sandbox, chat, "GET", "/messages", params={"before": ids[1]}).json()
    assert [m["id"] for m in before["entities"]] == [ids[0]]

    bad = guest(sandbox, chat, "GET", "/messages", params={"sortOrder": "sideways"})
    assert_error_body(bad, 400, "bad.request")


def test_a_jwt_opens_only_its_own_conversation(sandbox):
    mine = sandbox.create_chat("Ann")
    other = sandbox.create_chat("Bob")

    stolen = {"id": other["id"], "jwt": mine["jwt"]}
    assert_error_body(guest(sandbox, stolen, "GET", "/members"), 401, "bad.credentials")
    no_jwt = requests.get(f"{sandbox.url}{GUEST}/{mine['id']}/members", timeout=TIMEOUT)
    assert_error_body(no_jwt, 401, "authentication.required")
    as_other = guest(
        sandbox, mine, "POST", f"/members/{other['member']['id']}/messages", json={"body": "x"}
    )
    assert as_other.status_code == 404


def test_member_lookup_gives_roles(sandbox):
    chat = sandbox.create_chat("Ann")
    agent_id = sandbox.agent_join(chat["id"])["member"]["id"]

    members = guest(sandbox, chat, "GET", "/members").json()["entities"]
    roles = {m["id"]: (m["role"], m["state"]) for m in members}

    assert roles[chat["member"]["id"]] == ("CUSTOMER", "CONNECTED")
    assert roles[agent_id] == ("AGENT", "CONNECTED")
    assert ("ACD", "DISCONNECTED") in roles.values()
    agent = guest(sandbox, chat, "GET", f"/members/{agent_id}").json()
    assert agent["displayName"] == "Alex Agent"
    assert agent["role"] == "AGENT"
    missing = guest(sandbox, chat, "GET", "/members/0e7c1a2b-3d4e-4f5a-8b6c-7d8e9f0a1b2c")
    assert_error_body(missing, 404, "not.found")


def test_the_guest_leaves(sandbox):
    chat = sandbox.create_chat("Ann")
    me = chat["member"]["id"]

    response = guest(sandbox, chat, "DELETE", f"/members/{me}")

    assert response.status_code == 204
    member = guest(sandbox, chat, "GET", f"/members/{me}").json()
    assert member["state"] == "DISCONNECTED"
    assert member["leaveDate"]
    assert_error_body(send(sandbox, chat, "x"), 400, "chat.error.conversation.state")
    again = guest(sandbox, chat, "DELETE", f"/members/{me}")
    assert_error_body(again, 400, "chat.error.member.state")


def test_an_agent_leaving_without_ending_returns_the_chat_to_the_queue(sandbox):
    chat = sandbox.create_chat("Ann")
    sandbox.agent_join(chat["id"], "First")

    sandbox.agent_leave(chat["id"], end_conversation=False)

    conversation = sandbox.conversation(chat["id"])
    assert conversation["state"] == "waiting"
    assert send(sandbox, chat, "Anyone?").status_code == 200
    second = sandbox.agent_join(chat["id"], "Second")
    assert second["conversation"]["state"] == "active"


@pytest.mark.parametrize(
    "body",
    [{"body": 5}, {"bodyType": "standard"}, {"body": "x", "bodyType": "standard | notice"}],
)
def test_bad_messages_are_400(sandbox, body):
    chat = sandbox.create_chat("Ann")
    response = guest(sandbox, chat, "POST", f"/members/{chat['member']['id']}/messages", json=body)
    assert_error_body(response, 400, "bad.request")
