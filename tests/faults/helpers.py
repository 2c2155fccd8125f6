"""What the fault scenarios share: endpoints on the sandbox, handovers, what Genesys
received, the runtime API over HTTP, and a background loop that breaks things."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests
from django.db import connection as db_connection

from endpoints.handovers.services import handover_start
from endpoints.models import Endpoint, Handover, OutboundMessage
from endpoints.models.handover import OutboxStatus
from genesys.models import OpenMessagingConversation, OpenMessagingSettings, WebChatConversation
from tests.conftest import CLIENT_ID
from tests.e2e.conftest import wait_for
from tests.factories import (
    WEBHOOK_SECRET,
    GenesysSettingsFactory,
    OAuth2ConnectionFactory,
    OpenMessagingSettingsFactory,
    TokenFactory,
    UserFactory,
)
from tests.processes import Stack

DRIVE = "endpoints.drive_handover"
CALLBACK_SECRET = "fault-suite-callback-secret"


def poll(check: Callable[[], Any], *, timeout: float, interval: float = 0.3) -> bool:
    """Whether ``check`` came true within ``timeout`` (no failure: the scenario records
    its figures, then asserts)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


# Endpoints and handovers


def webchat_endpoint(sandbox: Any, callback_url: str = "") -> Endpoint:
    """A Genesys web chat endpoint on the sandbox's demo organisation."""
    settings = GenesysSettingsFactory(
        organization_id=sandbox.organization_id,
        deployment_id=sandbox.deployment_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    )
    endpoint = settings.endpoint
    if callback_url:
        endpoint.callback_url = callback_url
        endpoint.callback_signing_secret = CALLBACK_SECRET
        endpoint.save()
    return endpoint


def om_settings(sandbox: Any, web_url: str) -> OpenMessagingSettings:
    """An Open Messaging endpoint whose webhook is the fault stack's web server."""
    om = OpenMessagingSettingsFactory(
        integration_id=sandbox.open_integration_id,
        queue_id=sandbox.queue_id,
        queue_name=sandbox.queue_name,
        node_authentication=OAuth2ConnectionFactory(client_id=CLIENT_ID),
    )
    sandbox.put_open_integration(web_url + om.webhook_path(), WEBHOOK_SECRET, name="Fault bot")
    return om


def start_handovers(endpoint: Endpoint, count: int) -> list[Handover]:
    handovers = []
    for n in range(count):
        handover, created = handover_start(
            endpoint=endpoint, user_id=f"user-{n}", session_id=str(uuid.uuid4())
        )
        assert created
        handovers.append(handover)
    return handovers


def webchat_ids(handovers: Iterable[Handover], stack: Stack, timeout: float = 60) -> dict[int, str]:
    """Handover pk → its Genesys conversation id, once every one was created."""
    pks = [handover.pk for handover in handovers]

    def created() -> dict[int, str] | None:
        rows = dict(
            WebChatConversation.objects.filter(handover__in=pks).values_list(
                "handover_id", "conversation_id"
            )
        )
        return rows if len(rows) == len(pks) else None

    return wait_for(
        created, timeout=timeout, what="the Genesys conversations", stack=stack, interval=0.3
    )


def om_ids(handovers: Iterable[Handover], stack: Stack, timeout: float = 60) -> dict[int, str]:
    """Handover pk → its Open Messaging conversation id (known after the first message)."""
    pks = [handover.pk for handover in handovers]

    def known() -> dict[int, str] | None:
        rows = dict(
            OpenMessagingConversation.objects.filter(handover__in=pks)
            .exclude(conversation_id="")
            .values_list("handover_id", "conversation_id")
        )
        return rows if len(rows) == len(pks) else None

    return wait_for(
        known, timeout=timeout, what="the Open Messaging conversations", stack=stack, interval=0.3
    )


def outbox_settled(handover_ids: Iterable[int]) -> bool:
    """No message of these handovers waits to be sent (each is sent or failed)."""
    return not OutboundMessage.objects.filter(
        handover__in=list(handover_ids), status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING]
    ).exists()


def outbox_statuses(handover_ids: Iterable[int]) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for status in OutboundMessage.objects.filter(handover__in=list(handover_ids)).values_list(
        "status", flat=True
    ):
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def extra_attempts(handover_ids: Iterable[int]) -> int:
    """Send attempts beyond the first, over the handovers' outbox (retries, takeovers)."""
    attempts = OutboundMessage.objects.filter(handover__in=list(handover_ids)).values_list(
        "attempts", flat=True
    )
    return sum(max(0, n - 1) for n in attempts)


# What Genesys received


def customer_texts(sandbox: Any) -> dict[str, list[str]]:
    """Web chat: conversation id → the customer's (our) messages, in the order received."""
    texts = {}
    for conversation in sandbox.conversations():
        customer = conversation["customer"]["id"]
        texts[conversation["id"]] = [
            message["body"]
            for message in conversation["messages"]
            if message["sender"]["id"] == customer and message["bodyType"] == "standard"
        ]
    return texts


def inbound_texts(sandbox: Any) -> dict[str, list[str]]:
    """Open Messaging: conversation id → the inbound (our) messages, in the order received."""
    return {
        conversation["id"]: [
            message["text"]
            for message in conversation["messages"]
            if message["direction"] == "Inbound"
        ]
        for conversation in sandbox.om_conversations()
    }


def channel_texts(channel: Any, handover: Handover, kind: str = "agent_message") -> list[str]:
    """The texts of ``kind`` events the channel's callback receiver got for the handover."""
    return [
        event["data"].get("text", "")
        for event in channel.events()
        if event["handover"] == str(handover.public_id) and event["kind"] == kind
    ]


def agent_message_texts(handover: Handover) -> list[str]:
    return list(
        handover.events.filter(kind="agent_message")
        .order_by("seq")
        .values_list("data__text", flat=True)
    )


def delivery_problems(
    sent: Mapping[Any, list[str]], received: Mapping[Any, list[str]], where: str = "at the agent"
) -> list[str]:
    """One line per conversation whose received texts are not exactly the sent ones."""
    return [
        f"handover {key}: {len(received.get(key, []))} messages {where}, {len(texts)} sent; "
        + _first_difference(texts, received.get(key, []))
        for key, texts in sent.items()
        if received.get(key, []) != texts
    ]


def _first_difference(sent: list[str], received: list[str]) -> str:
    for n, (want, got) in enumerate(zip(sent, received, strict=False)):
        if want != got:
            return f"first difference at #{n}: sent {want!r}, received {got!r}"
    return f"first difference at #{min(len(sent), len(received))} (one list is longer)"


# The runtime API, over HTTP, as a channel calls it


class RuntimeApi:
    """A channel's client of the runtime API on the fault stack's web server."""

    def __init__(self, base_url: str) -> None:
        user = UserFactory(perms=[DRIVE])
        self.base_url = f"{base_url}/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {TokenFactory(user=user).key}"

    def start(self, endpoint: Endpoint, session_id: str) -> requests.Response:
        return self.http.post(
            f"{self.base_url}/endpoints/{endpoint.public_id}/handovers/",
            json={"user_id": f"user-{session_id}", "session_id": session_id},
            timeout=15,
        )

    def message(self, handover_id: Any, text: str, client_message_id: str) -> requests.Response:
        return self.http.post(
            f"{self.base_url}/handovers/{handover_id}/messages/",
            json={"text": text, "client_message_id": client_message_id},
            timeout=15,
        )

    def events(self, handover_id: Any, after: int = 0) -> requests.Response:
        return self.http.get(
            f"{self.base_url}/handovers/{handover_id}/events/", params={"after": after}, timeout=15
        )

    def end(self, handover_id: Any) -> requests.Response:
        return self.http.delete(f"{self.base_url}/handovers/{handover_id}/", timeout=15)


# Breaking things in the background


class Background:
    """Calls ``action`` every ``every`` seconds in a thread until stopped; keeps what it
    raised (a failure there must fail the scenario, not vanish with the thread)."""

    def __init__(self, action: Callable[[int], Any], every: float) -> None:
        self.action = action
        self.every = every
        self.runs = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.every):
                self.action(self.runs)
                self.runs += 1
        except BaseException as error:  # pytest.fail raises a BaseException
            self.errors.append(error)
        finally:
            db_connection.close()  # this thread's own, if the action used the database

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)
