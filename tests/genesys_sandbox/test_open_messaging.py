from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import pytest
import requests

from tests.genesys_sandbox.conftest import TIMEOUT, assert_error_body
from tests.genesys_sandbox.test_webchat import next_event, run

SECRET = "a-webhook-secret-of-32-characters"
POLL_SECONDS = 3


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local webhook endpoint; answers ``statuses`` in turn, then 200."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def wait_for(self, count: int) -> list[Received]:
        deadline = time.monotonic() + POLL_SECONDS
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, self.received
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append(Received(body, dict(self.headers)))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/genesys/webhook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def hooked(sandbox, receiver):
    """The demo integration points at the receiver; retries are fast."""
    sandbox.put_open_integration(receiver.url, SECRET)
    sandbox.settings(webhook_backoff_seconds=0.05)
    return sandbox


def inbound_body(user_id="user-1", message_id="m-1", text="Hello", **sender) -> dict:
    return {
        "channel": {
            "messageId": message_id,
            "from": {"id": user_id, "idType": "Opaque", **sender},
            "time": "2025-01-01T10:00:00.000Z",
        },
        "text": text,
    }


def inbound(sandbox, token, body, *, integration_id=None, path="message", **params):
    integration_id = integration_id or sandbox.open_integration_id
    return requests.post(
        f"{sandbox.url}/api/v2/conversations/messages/{integration_id}/inbound/open/{path}",
        json=body,
        params=params or None,
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=TIMEOUT,
    )


def api(sandbox, token, method, path, *, headers=None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **(headers or {})}
    return requests.request(
        method, f"{sandbox.url}{path}", headers=headers, timeout=TIMEOUT, **kwargs
    )


def verify(received: Received) -> bool:
    header = received.headers["X-Hub-Signature-256"]
    digest = hmac.new(SECRET.encode(), received.body, hashlib.sha256).digest()
    expected = "sha256=" + base64.b64encode(digest).decode()
    return hmac.compare_digest(header, expected)


def start(sandbox, token, user_id="user-1") -> dict:
    response = inbound(
        sandbox,
        token,
        inbound_body(user_id, message_id=f"{user_id}-first"),
        prefetchConversationId="true",
    )
    assert response.status_code == 200, response.text
    return response.json()


# Integrations


def test_demo_integration_and_its_api_shape(sandbox, token):
    response = api(
        sandbox,
        token,
        "GET",
        f"/api/v2/conversations/messaging/integrations/open/{sandbox.open_integration_id}",
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Sandbox Open Messaging"
    assert "outboundNotificationWebhookUrl" not in response.json()

    sandbox.put_open_integration("http://127.0.0.1:1/hook", SECRET)
    body = api(
        sandbox,
        token,
        "GET",
        f"/api/v2/conversations/messaging/integrations/open/{sandbox.open_integration_id}",
    ).json()
    # OpenIntegration.attribute_map names; the secret never comes back.
    assert body["id"] == sandbox.open_integration_id
    assert body["outboundNotificationWebhookUrl"] == "http://127.0.0.1:1/hook"
    assert SECRET not in json.dumps(body)
    summary = sandbox.control("GET", f"open-messaging/integrations/{sandbox.open_integration_id}")
    assert summary["has_webhook_secret"] is True
    assert SECRET not in json.dumps(summary)


def test_a_short_webhook_secret_is_refused(sandbox):
    with pytest.raises(requests.HTTPError) as error:
        sandbox.put_open_integration("http://127.0.0.1:1/hook", "fifteen-chars!!")
    assert error.value.response.status_code == 400


# Inbound


def test_inbound_needs_a_token_and_the_permission(sandbox, token):
    assert_error_body(inbound(sandbox, None, inbound_body()), 401, "authentication.required")
    sandbox.put_client("narrow", "narrow-secret", permissions=["routing:queue:view"])
    narrow = requests.post(
        f"{sandbox.url}/oauth/token",
        auth=("narrow", "narrow-secret"),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    ).json()["access_token"]
    body = assert_error_body(inbound(sandbox, narrow, inbound_body()), 403, "missing.permissions")
    assert "conversations:message:create" in body["message"]
    assert sandbox.om_conversations() == []


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda b: b["channel"]["from"].pop("id"), 400),
        (lambda b: b.pop("text"), 400),
        (lambda b: b["channel"].pop("messageId"), 400),
        (lambda b: b["channel"]["from"].update(idType="Pigeon"), 400),
        (lambda b: b.pop("channel"), 400),
    ],
)
def test_inbound_validation(sandbox, token, mutate, status):
    body = inbound_body()
    mutate(body)
    assert_error_body(inbound(sandbox, token, body), status, "bad.request")


def test_inbound_unknown_integration_and_bad_json(sandbox, token):
    response = inbound(sandbox, token, inbound_body(), integration_id="nope")
    assert_error_body(response, 404, "not.found")
    response = api(
        sandbox,
        token,
        "POST",
        f"/api/v2/conversations/messages/{sandbox.open_integration_id}/inbound/open/message",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_inbound_starts_one_conversation_per_user_and_answers_the_sdk_shape(sandbox, token):
    response = inbound(sandbox, token, inbound_body(nickname="Ann"))
    assert response.status_code == 200
    message = response.json()
    # OpenMessageNormalizedMessage; conversationId only with prefetchConversationId=true.
    assert message["type"] == "Text"
    assert message["text"] == "Hello"
    assert message["direction"] == "Inbound"
    assert message["channel"]["messageId"] == "m-1"
    assert message["channel"]["from"] == {"id": "user-1", "idType": "Opaque", "nickname": "Ann"}
    assert "conversationId" not in message

    second = inbound(sandbox, token, inbound_body(message_id="m-2"), prefetchConversationId="true")
    other = inbound(sandbox, token, inbound_body("user-2", message_id="m-1"))
    assert other.status_code == 200

    conversations = sandbox.om_conversations()
    assert len(conversations) == 2
    [mine] = [c for c in conversations if c["customer"]["id"] == "user-1"]
    assert second.json()["conversationId"] == mine["id"]
    assert mine["state"] == "waiting"
    assert mine["queue"]["name"] == sandbox.queue_name
    assert [m["text"] for m in mine["messages"]] == ["Hello", "Hello"]
    assert {p["purpose"]: p["state"] for p in mine["participants"]} == {
        "customer": "connected",
        "acd": "connected",
    }
    assert sandbox.requests("/api/v2/conversations/messages")[0]["headers"]["Authorization"] == (
        "Bearer"
    )


def test_the_same_message_id_is_stored_once(sandbox, token):
    first = inbound(sandbox, token, inbound_body()).json()
    again = inbound(sandbox, token, inbound_body()).json()
    assert again["id"] == first["id"]
    [conversation] = sandbox.om_conversations()
    assert len(conversation["messages"]) == 1


def test_the_message_id_deduplication_can_be_turned_off(sandbox, token):
    assert sandbox.settings(open_messaging_dedupe=False)["open_messaging_dedupe"] is False
    first = inbound(sandbox, token, inbound_body()).json()
    again = inbound(sandbox, token, inbound_body()).json()
    assert again["id"] != first["id"]
    [conversation] = sandbox.om_conversations()
    assert [m["message_id"] for m in conversation["messages"]] == ["m-1", "m-1"]
    sandbox.reset()
    assert sandbox.settings()["open_messaging_dedupe"] is True


def test_get_conversation_message_answers_message_data(hooked, token):
    answer = start(hooked, token)
    conversation_id, message_id = answer["conversationId"], answer["id"]
    hooked.om_agent_join(conversation_id, "Alex Agent")
    agent_message_id = hooked.om_agent_send(conversation_id, "Hi there")
    path = f"/api/v2/conversations/messages/{conversation_id}"
    customer = next(
        p for p in api(hooked, token, "GET", path).json()["participants"]
        if p["purpose"] == "customer"
    )  # fmt: skip
    assert [m["messageId"] for m in customer["messages"]] == [message_id]
    response = api(hooked, token, "GET", f"{path}/messages/{message_id}")
    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["direction"], data["conversationId"]) == (
        message_id, "inbound", conversation_id
    )  # fmt: skip
    assert data["normalizedMessage"]["text"] == "Hello"
    assert data["providerMessageId"] == "user-1-first"
    assert data["timestamp"] == "2025-01-01T10:00:00.000Z"
    outbound = api(hooked, token, "GET", f"{path}/messages/{agent_message_id}").json()
    assert (outbound["direction"], outbound["normalizedMessage"]["text"]) == (
        "outbound", "Hi there"
    )  # fmt: skip
    assert_error_body(api(hooked, token, "GET", f"{path}/messages/nope"), 404, "not.found")
    assert_error_body(
        api(hooked, token, "GET", f"/api/v2/conversations/messages/nope/messages/{message_id}"),
        404,
        "not.found",
    )
    hooked.put_client("creator", "creator-secret", permissions=["conversations:message:create"])
    creator = requests.post(
        f"{hooked.url}/oauth/token",
        auth=("creator", "creator-secret"),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    ).json()["access_token"]
    response = api(hooked, creator, "GET", f"{path}/messages/{message_id}")
    assert_error_body(response, 403, "missing.permissions")


def test_customer_typing_is_recorded(sandbox, token):
    start(sandbox, token)
    body = {
        "channel": {"from": {"id": "user-1", "idType": "Opaque"}, "time": "2025-01-01T10:00:01Z"},
        "events": [{"eventType": "Typing", "typing": {"type": "On", "duration": 5000}}],
    }
    response = inbound(sandbox, token, body, path="event")
    assert response.status_code == 200
    assert response.json()["events"][0]["eventType"] == "Typing"
    [conversation] = sandbox.om_conversations()
    assert conversation["typing"][0]["purpose"] == "customer"


# Outbound webhooks


def test_agent_message_and_typing_arrive_signed_and_in_order(hooked, token, receiver):
    conversation_id = start(hooked, token)["conversationId"]
    hooked.om_agent_join(conversation_id, "Alex Agent")
    ids = [hooked.om_agent_send(conversation_id, f"reply {n}") for n in range(3)]
    typing_id = hooked.om_agent_typing(conversation_id)

    received = receiver.wait_for(4)
    assert all(verify(r) for r in received)
    bodies = [r.json for r in received]
    assert [b["id"] for b in bodies] == [*ids, typing_id]
    text = bodies[0]
    assert text["type"] == "Text"
    assert text["text"] == "reply 0"
    assert text["direction"] == "Outbound"
    assert text["originatingEntity"] == "Human"
    assert text["channel"]["platform"] == "Open"
    assert text["channel"]["type"] == "Private"
    assert text["channel"]["to"] == {"id": "user-1"}
    assert text["channel"]["from"]["nickname"] == "Alex Agent"
    assert text["channel"]["messageId"] == ids[0]
    assert bodies[3]["type"] == "Event"
    assert bodies[3]["events"] == [
        {"eventType": "Typing", "typing": {"type": "On", "duration": 5000}}
    ]
    assert received[0].headers["Content-Type"] == "application/json"


def test_a_failing_receiver_gets_the_same_body_and_signature_again(hooked, token, receiver):
    conversation_id = start(hooked, token)["conversationId"]
    hooked.om_agent_join(conversation_id)
    receiver.statuses = [500, 503]
    first = hooked.om_agent_send(conversation_id, "one")
    second = hooked.om_agent_send(conversation_id, "two")

    received = receiver.wait_for(4)
    assert [r.json["id"] for r in received] == [first, first, first, second]
    assert received[0].body == received[2].body
    signature = received[0].headers["X-Hub-Signature-256"]
    assert received[2].headers["X-Hub-Signature-256"] == signature
    attempts = [(d["message_id"], d["attempt"], d["status"]) for d in hooked.om_deliveries()]
    assert attempts == [(first, 1, 500), (first, 2, 503), (first, 3, 200), (second, 1, 200)]


def test_an_unreachable_webhook_is_retried_then_given_up(sandbox, token):
    sandbox.put_open_integration("http://127.0.0.1:9/closed", SECRET)
    sandbox.settings(webhook_retries=2, webhook_backoff_seconds=0.01)
    conversation_id = start(sandbox, token)["conversationId"]
    sandbox.om_agent_join(conversation_id)
    sandbox.om_agent_send(conversation_id, "lost")
    deadline = time.monotonic() + POLL_SECONDS
    while len(sandbox.om_deliveries()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    deliveries = sandbox.om_deliveries()
    assert [d["attempt"] for d in deliveries] == [1, 2, 3]
    assert all(d["status"] is None and d["error"] for d in deliveries)


# Transfer, the conversation API, disconnect


def test_transfer_moves_the_conversation_to_another_queue(hooked, token):
    hooked.put_queue("queue-2", name="Billing")
    conversation_id = start(hooked, token)["conversationId"]
    hooked.om_agent_join(conversation_id, "First Agent")
    after = hooked.om_transfer(conversation_id, "Billing")
    assert after["state"] == "waiting"
    assert after["queue"] == {"id": "queue-2", "name": "Billing"}
    agents = [p for p in after["participants"] if p["purpose"] == "agent"]
    assert [(a["state"], a["disconnect_type"]) for a in agents] == [("disconnected", "transfer")]
    # Within the gap (1 s by default) nobody is connected on Genesys's side; the agent may
    # still join, which cancels the queue's arrival.
    assert {p["state"] for p in after["participants"] if p["purpose"] != "customer"} == {
        "disconnected"
    }
    joined = hooked.om_agent_join(conversation_id, "Second Agent")
    assert joined["conversation"]["state"] == "active"
    with pytest.raises(requests.HTTPError):
        hooked.om_transfer(conversation_id, "No Such Queue")


def test_get_message_conversation_and_disconnect_the_customer(hooked, token):
    conversation_id = start(hooked, token)["conversationId"]
    hooked.om_agent_join(conversation_id, "Alex Agent")
    response = api(hooked, token, "GET", f"/api/v2/conversations/messages/{conversation_id}")
    assert response.status_code == 200
    conversation = response.json()
    # MessageConversation / MessageMediaParticipant names.
    assert conversation["id"] == conversation_id
    by_purpose = {p["purpose"]: p for p in conversation["participants"]}
    assert by_purpose["customer"]["state"] == "connected"
    assert by_purpose["agent"]["name"] == "Alex Agent"
    assert by_purpose["acd"]["state"] == "disconnected"
    customer_id = by_purpose["customer"]["id"]

    path = f"/api/v2/conversations/messages/{conversation_id}/participants/{customer_id}"
    response = api(hooked, token, "PATCH", path, json={"state": "disconnected"})
    assert response.status_code == 202
    after = hooked.om_conversation(conversation_id)
    assert after["state"] == "ended"
    assert {p["state"] for p in after["participants"]} == {"disconnected"}
    again = api(hooked, token, "PATCH", path, json={"state": "disconnected"})
    assert_error_body(again, 400, "bad.request")
    # The next message from that user starts a new conversation.
    new = inbound(hooked, token, inbound_body(message_id="m-9"), prefetchConversationId="true")
    assert new.json()["conversationId"] != conversation_id


def test_disconnect_needs_the_permission_and_a_known_participant(sandbox, token):
    conversation_id = start(sandbox, token)["conversationId"]
    path = f"/api/v2/conversations/messages/{conversation_id}/participants/nobody"
    assert_error_body(
        api(sandbox, token, "PATCH", path, json={"state": "disconnected"}), 404, "not.found"
    )
    sandbox.put_client("viewer", "viewer-secret", permissions=["conversation:message:view"])
    viewer = requests.post(
        f"{sandbox.url}/oauth/token",
        auth=("viewer", "viewer-secret"),
        data={"grant_type": "client_credentials"},
        timeout=TIMEOUT,
    ).json()["access_token"]
    response = api(sandbox, viewer, "POST", f"/api/v2/conversations/{conversation_id}/disconnect")
    assert_error_body(response, 403, "missing.permissions")
    response = api(sandbox, token, "POST", f"/api/v2/conversations/{conversation_id}/disconnect")
    assert response.status_code == 202
    assert sandbox.om_conversation(conversation_id)["state"] == "ended"


# Notifications API


def subscribe(sandbox, token, conversation_id) -> dict:
    channel = api(sandbox, token, "POST", "/api/v2/notifications/channels").json()
    topics = [{"id": f"v2.conversations.{conversation_id}"}]
    path = f"/api/v2/notifications/channels/{channel['id']}/subscriptions"
    response = api(sandbox, token, "PUT", path, json=topics)
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["entities"]] == [topics[0]["id"]]
    assert api(sandbox, token, "GET", path).json()["entities"][0]["id"] == topics[0]["id"]
    return channel


def test_notifications_channel_reports_the_agent_leaving(hooked, token):
    hooked.settings(heartbeat_seconds=0.2)
    conversation_id = start(hooked, token)["conversationId"]
    channel = subscribe(hooked, token, conversation_id)
    assert channel["connectUri"] == f"ws://127.0.0.1:{hooked.port}/channels/{channel['id']}"
    assert {"id", "connectUri", "expires"} <= set(channel)

    async def scenario() -> list[dict]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(channel["connectUri"]) as ws,
        ):
            heartbeat = await next_event(ws, heartbeats=True)
            await asyncio.to_thread(hooked.om_agent_join, conversation_id, "Alex Agent")
            joined = await next_event(ws)
            await asyncio.to_thread(hooked.om_agent_leave, conversation_id)
            left = await next_event(ws)
            return [heartbeat, joined, left]

    heartbeat, joined, left = run(scenario())
    assert heartbeat["topicName"] == "channel.metadata"
    assert heartbeat["eventBody"] == {"message": "WebSocket Heartbeat"}
    assert joined["topicName"] == f"v2.conversations.{conversation_id}"
    assert {"topicName", "version", "eventBody", "metadata"} <= set(joined)
    agent = next(p for p in joined["eventBody"]["participants"] if p["purpose"] == "agent")
    assert agent["name"] == "Alex Agent"
    # ConversationEventTopicParticipant: the state is in the message communication.
    assert agent["messages"][0]["state"] == "connected"
    states = {p["purpose"]: p["messages"][0]["state"] for p in left["eventBody"]["participants"]}
    assert states == {"customer": "disconnected", "agent": "disconnected", "acd": "disconnected"}


def test_a_transfer_publishes_the_disconnect_then_the_next_queue(hooked, token):
    hooked.put_queue("queue-2", name="Billing")
    assert hooked.settings(transfer_gap_seconds=0.3)["transfer_gap_seconds"] == 0.3
    conversation_id = start(hooked, token)["conversationId"]
    hooked.om_agent_join(conversation_id, "Alex Agent")
    channel = subscribe(hooked, token, conversation_id)

    async def scenario() -> tuple[dict, dict, float]:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(channel["connectUri"]) as ws,
        ):
            await asyncio.to_thread(hooked.om_transfer, conversation_id, "Billing")
            left = await next_event(ws)
            started = time.monotonic()
            queued = await next_event(ws)
            return left, queued, time.monotonic() - started

    def states(frame: dict) -> list[tuple[str, str, str | None]]:
        return [
            (p["purpose"], p["messages"][0]["state"], p.get("queueId"))
            for p in frame["eventBody"]["participants"]
        ]

    left, queued, gap = run(scenario())
    demo = hooked.queue_id
    assert states(left) == [
        ("customer", "connected", None),
        ("acd", "disconnected", demo),
        ("agent", "disconnected", demo),
    ]
    assert states(queued) == [*states(left), ("acd", "connected", "queue-2")]
    assert gap == pytest.approx(0.3, abs=0.25)


def test_notification_topics_are_validated_and_sockets_dropped(sandbox, token):
    channel = api(sandbox, token, "POST", "/api/v2/notifications/channels").json()
    path = f"/api/v2/notifications/channels/{channel['id']}/subscriptions"
    response = api(sandbox, token, "PUT", path, json=[{"id": "v2.users.me.presence"}])
    assert response.status_code == 400
    unknown = api(sandbox, token, "GET", "/api/v2/notifications/channels/nope/subscriptions")
    assert_error_body(unknown, 404, "not.found")
    assert_error_body(
        requests.post(f"{sandbox.url}/api/v2/notifications/channels", timeout=TIMEOUT),
        401,
        "authentication.required",
    )

    async def scenario() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(channel["connectUri"]) as ws,
        ):
            await asyncio.to_thread(sandbox.drop_streams)
            message = await ws.receive(timeout=POLL_SECONDS)
            return message.type

    assert run(scenario()) in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


# A user's answer to a quick reply: POST …/inbound/open/structured/response

QUICK_REPLIES = [
    {"contentType": "QuickReply", "quickReply": {"text": "Yes", "payload": "yes"}},
    {"contentType": "QuickReply", "quickReply": {"text": "No", "payload": "no"}},
]


def answer_body(message_id="a-1", originating=None, **button) -> dict:
    body = {
        "channel": inbound_body(message_id=message_id)["channel"],
        "buttonResponse": {"type": "QuickReply", "text": "Yes", "payload": "yes", **button},
    }
    if originating is not None:
        body["originatingMessageId"] = originating
    return body


@pytest.fixture
def offered(hooked, token):
    """A conversation whose agent offered two quick replies; (conversation id, message id)."""
    cid = start(hooked, token)["conversationId"]
    hooked.om_agent_join(cid, "Alex Agent")
    return cid, hooked.om_agent_send(cid, "Did it arrive?", QUICK_REPLIES)


def test_an_answer_is_a_structured_button_response(hooked, token, offered):
    cid, question = offered
    response = inbound(hooked, token, answer_body(originating=question), path="structured/response")

    assert response.status_code == 200, response.text
    body = response.json()
    # OpenStructuredResponseNormalizedMessage: no conversationId (no prefetch here).
    assert set(body) == {"id", "channel", "type", "direction", "content"}
    assert (body["type"], body["direction"]) == ("Structured", "Inbound")
    button = {"type": "QuickReply", "text": "Yes", "payload": "yes"}
    assert body["content"] == [{"contentType": "ButtonResponse", "buttonResponse": button}]
    stored = hooked.om_conversation(cid)["messages"][-1]
    assert stored["type"] == "Structured"
    assert stored["originating_message_id"] == question
    assert stored["content"] == body["content"]
    assert hooked.om_conversation(cid)["messages"][1]["type"] == "Structured"  # the offer


def test_message_data_of_an_answer_has_the_button_text_in_its_content(hooked, token, offered):
    cid, _ = offered
    answer = inbound(hooked, token, answer_body(), path="structured/response").json()

    data = api(
        hooked, token, "GET", f"/api/v2/conversations/messages/{cid}/messages/{answer['id']}"
    )

    normalized = data.json()["normalizedMessage"]
    assert normalized["type"] == "Structured"
    assert "text" not in normalized
    assert normalized["content"][0]["buttonResponse"]["text"] == "Yes"


def test_the_same_answer_message_id_is_stored_once(hooked, token, offered):
    cid, _ = offered
    first = inbound(hooked, token, answer_body(), path="structured/response").json()
    again = inbound(hooked, token, answer_body(), path="structured/response").json()
    assert first["id"] == again["id"]
    assert len(hooked.om_conversation(cid)["messages"]) == 3  # first, the offer, the answer


def _drop_button(body):
    del body["buttonResponse"]


@pytest.mark.parametrize(
    "mutate",
    [
        _drop_button,
        lambda body: body["buttonResponse"].update(type="Carousel"),
        lambda body: body["buttonResponse"].pop("payload"),
        lambda body: body["buttonResponse"].update(text=""),
        lambda body: body["channel"].pop("messageId"),
        lambda body: body.update(originatingMessageId=5),
        lambda body: body.update(originatingMessageId="no-such-message"),
    ],
)
def test_an_answer_that_does_not_fit_is_400(hooked, token, offered, mutate):
    body = copy.deepcopy(answer_body())
    mutate(body)
    response = inbound(hooked, token, body, path="structured/response")
    assert response.status_code == 400, response.text


def test_an_answer_needs_an_open_conversation_and_the_permission(sandbox, token):
    response = inbound(sandbox, token, answer_body(), path="structured/response")
    assert_error_body(response, 400, "bad.request")
    assert "no open conversation" in response.json()["message"]
    unauthorized = inbound(sandbox, None, answer_body(), path="structured/response")
    assert_error_body(unauthorized, 401, "authentication.required")
