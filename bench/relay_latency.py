"""Relay latency, one message at a time, in both directions of a web chat handover:

- user → Genesys: from the runtime API's 202 to the message's arrival at the sandbox (its
  timestamp, millisecond resolution), against a direct POST of the same body to the
  sandbox's guest API (its round trip);
- Genesys agent → channel: from the sandbox's agent message (the control call) to the signed
  callback's arrival at a local receiver, against a direct POST of the same body to the
  same receiver.

Then the same for an Open Messaging handover: user → Genesys to the message's arrival at the
sandbox's inbound API, against a direct POST of the same body to that API; agent → channel
through the integration's webhook (gunicorn), the inbox and the worker, against the same
direct POST to the receiver.

Stack: gunicorn (2 workers), one Celery worker (concurrency 2), one relay, the sandbox.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from bench.api import Channel, wait_until
from bench.receiver import CallbackReceiver
from bench.seed import SANDBOX
from bench.services import Services
from bench.sizes import Size
from bench.stack import BenchStack
from bench.stats import heading, ms, note, percentile, row

#: The sandbox's Open Messaging inbound API.
INBOUND = "/api/v2/conversations/messages/{integration}/inbound/open"


def _iso_seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def _figures(label: str, samples: list[float], floor: list[float]) -> None:
    p = {pct: percentile(samples, pct) for pct in (50, 95, 99)}
    f = {pct: percentile(floor, pct) for pct in (50, 95, 99)}
    row(label, ms(p[50]), ms(p[95]), ms(p[99]), f"{p[50] / f[50]:.1f}x" if f[50] else "-")
    row("  direct POST of the same body (floor)", ms(f[50]), ms(f[95]), ms(f[99]), "")
    row("  added by the relay", ms(p[50] - f[50]), ms(p[95] - f[95]), ms(p[99] - f[99]),
        "≤ 10 / - / 40 ms")  # fmt: skip


def run(services: Services, size: Size) -> None:
    web_chat(services, size)
    open_messaging(services, size)


def web_chat(services: Services, size: Size) -> None:
    heading("Relay latency (web chat; one message at a time)")
    secret = secrets.token_hex(24)
    with BenchStack("latency", services) as stack, CallbackReceiver(secret) as receiver:
        sandbox = stack.start_sandbox()
        seeded = stack.seed(
            "relay", "--webchat", "1", "--callback-url", receiver.url, "--secret", secret
        )
        url = stack.start_web()
        stack.start_workers(1)
        stack.start_relays(1)
        channel = Channel(url, seeded["key"])
        handover = channel.start(seeded["webchat"][0])["id"]
        conversation = wait_until(
            lambda: sandbox.conversations(), timeout=30, what="the Genesys conversation"
        )[0]
        cid, customer = conversation["id"], conversation["customer"]["id"]
        sandbox.agent_join(cid, "Bench Agent")
        wait_until(lambda: sandbox.state()["open_streams"] >= 1, timeout=30, what="the stream")
        if not receiver.wait_for(1, timeout=30):
            raise TimeoutError("the agent_joined callback did not arrive")
        count = size.latency_messages
        row("", "p50", "p95", "p99", "ratio / target")

        # User → Genesys
        sent_path = f"/api/v2/webchat/guest/conversations/{cid}/members/{customer}/messages"
        sent = _user_to_genesys(
            channel, handover, count, sandbox, sent_path, _direct_guest_post(sandbox)
        )
        arrivals = {
            m["body"]: _iso_seconds(m["timestamp"])
            for m in sandbox.conversation(cid)["messages"]
            if m["sender"]["id"] == customer
        }
        sent.report(arrivals)

        _agent_to_callback(receiver, secret, count, lambda n: sandbox.agent_send(cid, f"agent {n}"))
        note(
            f"{count:,} messages each way; sandbox timestamps have millisecond resolution; "
            f"callbacks with a bad signature: {receiver.bad_signatures}"
        )


@dataclass
class _UserMessages:
    """User messages sent one at a time: when each was accepted, the API's answer times and
    the floor's round trips."""

    accepted: dict[str, float] = field(default_factory=dict)
    api_times: list[float] = field(default_factory=list)
    direct: list[float] = field(default_factory=list)

    def report(self, arrivals: dict[str, float]) -> None:
        """Print the figures, given each text's arrival at the sandbox (its timestamp)."""
        latency = [arrivals[t] - at for t, at in self.accepted.items() if t in arrivals]
        _figures("user → Genesys (API 202 → at the sandbox)", latency, self.direct)
        row("  the API's own answer (POST …/messages/)", ms(percentile(self.api_times, 50)),
            ms(percentile(self.api_times, 95)), ms(percentile(self.api_times, 99)), "")  # fmt: skip
        if len(latency) < len(self.accepted):
            note(f"{len(self.accepted) - len(latency)} user messages never reached the sandbox")


def _user_to_genesys(
    channel: Channel,
    handover: str,
    count: int,
    sandbox: Any,
    arrival_path: str,
    direct_post: Callable[[str], float],
) -> _UserMessages:
    """``count`` user messages one at a time, each waited for at the sandbox (a POST to
    ``arrival_path``), each followed by the floor (``direct_post`` of the same text)."""
    sent = _UserMessages()
    for n in range(count):
        text = f"latency {n}"
        before = sandbox.request_count(arrival_path, method="POST")
        started = time.perf_counter()
        channel.send(handover, text, f"l{n}")
        sent.api_times.append(time.perf_counter() - started)
        sent.accepted[text] = time.time()
        # The arrival is the sandbox's own timestamp: polling only paces the loop (every
        # 3 ms it kept the sandbox busy on the cores the relay runs on).
        wait_until(
            lambda b=before: sandbox.request_count(arrival_path, method="POST") > b,
            timeout=30, what=f"message {n} at the sandbox", every=0.025,
        )  # fmt: skip
        sent.direct.append(direct_post(text))  # the floor, interleaved
    return sent


def _agent_to_callback(
    receiver: CallbackReceiver, secret: str, count: int, agent_says: Callable[[int], Any]
) -> None:
    """``count`` agent messages one at a time, each timed from the sandbox's control call
    to the signed callback's arrival, each followed by the floor (a direct POST)."""
    agent_latency = []
    direct_callbacks = []
    direct_callback = _direct_callback(receiver, secret)
    for n in range(count):
        expected = len(receiver.arrivals) + 1
        started = time.perf_counter()
        agent_says(n)
        if not receiver.wait_for(expected, timeout=30):
            raise TimeoutError(f"agent message {n}'s callback did not arrive")
        arrived, event = receiver.arrivals[expected - 1]
        agent_latency.append(arrived - started)
        direct_callbacks.append(direct_callback(event))  # the floor, interleaved
    _figures("agent → callback (sandbox → receiver)", agent_latency, direct_callbacks)


def open_messaging(services: Services, size: Size) -> None:
    heading("Relay latency (Open Messaging; one message at a time)")
    secret = secrets.token_hex(24)
    with BenchStack("latency_om", services) as stack, CallbackReceiver(secret) as receiver:
        sandbox = stack.start_sandbox()
        seeded = stack.seed(
            "relay", "--webchat", "0", "--open-messaging",
            "--callback-url", receiver.url, "--secret", secret,
        )  # fmt: skip
        url = stack.start_web()
        sandbox.put_open_integration(url + seeded["webhook_path"], seeded["webhook_secret"])
        stack.start_workers(1)
        stack.start_relays(1)
        channel = Channel(url, seeded["key"])
        handover = channel.start(seeded["open_messaging"])["id"]
        channel.send(handover, "I need a human", "first")  # Genesys's conversation starts
        [conversation] = wait_until(
            lambda: sandbox.om_conversations(), timeout=30, what="the Genesys conversation"
        )
        cid = conversation["id"]
        sandbox.om_agent_join(cid, "Bench Agent")
        if not receiver.wait_for(1, timeout=30):
            raise TimeoutError("the agent_joined callback did not arrive")
        count = size.latency_messages
        row("", "p50", "p95", "p99", "ratio / target")

        inbound = f"{INBOUND.format(integration=SANDBOX['open_integration_id'])}/message"
        sent = _user_to_genesys(
            channel, handover, count, sandbox, inbound, _direct_inbound_post(sandbox)
        )
        arrivals = {
            m["text"]: _iso_seconds(m["time"])
            for m in sandbox.om_conversation(cid)["messages"]
            if m["direction"] == "Inbound"
        }
        sent.report(arrivals)

        _agent_to_callback(
            receiver, secret, count, lambda n: sandbox.om_agent_send(cid, f"agent {n}")
        )
        note(
            f"{count:,} messages each way; agent → callback through the integration's "
            "webhook (gunicorn), the inbox and a worker; callbacks with a bad signature: "
            f"{receiver.bad_signatures}"
        )


def _direct_inbound_post(sandbox: Any) -> Callable[[str], float]:
    """The floor: the same body POSTed straight to the sandbox's inbound API, as a user of
    a conversation of its own (with a token of the demo client); returns the round trip."""
    http = requests.Session()
    token = http.post(
        f"{sandbox.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(SANDBOX["client_id"], SANDBOX["client_secret"]),
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    url = sandbox.url + INBOUND.format(integration=SANDBOX["open_integration_id"]) + "/message"
    user = uuid.uuid4().hex

    def post(text: str) -> float:
        body = {
            "channel": {
                "messageId": uuid.uuid4().hex,
                "from": {"id": user, "idType": "Opaque", "nickname": "Direct"},
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
            "text": text,
        }
        started = time.perf_counter()
        http.post(url, json=body).raise_for_status()
        return time.perf_counter() - started

    return post


def _direct_guest_post(sandbox: Any) -> Callable[[str], float]:
    """The floor: the same body POSTed straight to the sandbox's guest API, as a guest of
    a chat of its own; returns the round trip."""
    chat = sandbox.create_chat("Direct")
    url = f"{sandbox.url}/api/v2/webchat/guest/conversations/{chat['id']}/members/"
    url += f"{chat['member']['id']}/messages"
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {chat['jwt']}"

    def post(text: str) -> float:
        started = time.perf_counter()
        http.post(url, json={"body": text, "bodyType": "standard"}).raise_for_status()
        return time.perf_counter() - started

    return post


def _direct_callback(receiver: CallbackReceiver, secret: str) -> Callable[[dict], float]:
    """The floor: the same body, signed, POSTed straight to the receiver (its arrival is
    the receiver's record of it, as for the relayed callbacks)."""
    http = requests.Session()

    def post(body: dict) -> float:
        raw = json.dumps(body).encode()
        timestamp = str(int(time.time()))
        digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-Handover-Timestamp": timestamp,
            "X-Handover-Signature": f"sha256={digest.hexdigest()}",
        }
        expected = len(receiver.arrivals) + 1
        started = time.perf_counter()
        http.post(receiver.url, data=raw, headers=headers).raise_for_status()
        receiver.wait_for(expected, timeout=10)
        return receiver.arrivals[expected - 1][0] - started

    return post
