"""``SandboxServer``: the Genesys Cloud sandbox as a real process, for any test suite.

The ``sandbox_server`` session fixture (``tests/conftest.py``) starts ``python -m
genesys_sandbox`` once; the ``sandbox`` fixture resets its world before each test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from genesys_sandbox.open_messaging_models import DEMO_OPEN_INTEGRATION_ID
from genesys_sandbox.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DEPLOYMENT_ID,
    DEMO_ORGANIZATION_ID,
    DEMO_QUEUE_ID,
    DEMO_QUEUE_NAME,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 20
CONTROL_TIMEOUT_SECONDS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxServer:
    """A running sandbox subprocess and thin wrappers around its control API."""

    organization_id = DEMO_ORGANIZATION_ID
    deployment_id = DEMO_DEPLOYMENT_ID
    queue_id = DEMO_QUEUE_ID
    queue_name = DEMO_QUEUE_NAME
    client_id = DEMO_CLIENT_ID
    client_secret = DEMO_CLIENT_SECRET
    open_integration_id = DEMO_OPEN_INTEGRATION_ID

    def __init__(self, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.http = requests.Session()

    # Process

    def start(self) -> SandboxServer:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "genesys_sandbox", "--port", str(self.port)],
            cwd=PROJECT_DIR,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The sandbox exited; see {self.log_path}")
            try:
                self.http.get(f"{self.url}/sandbox/state", timeout=0.5)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"The sandbox did not answer within {START_TIMEOUT_SECONDS} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.http.close()

    # Control API

    def control(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        response = self.http.request(
            method,
            f"{self.url}/sandbox/{path}",
            json=json,
            params=params or None,
            timeout=CONTROL_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self.control("POST", "reset")

    def state(self) -> dict[str, Any]:
        return self.control("GET", "state")

    def settings(self, **settings: Any) -> dict[str, Any]:
        """E.g. ``settings(heartbeat_seconds=0.2)``."""
        return self.control("PUT", "settings", settings)

    def put_client(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_ttl_seconds: int | None = None,
        permissions: list[str] | None = None,
    ) -> dict[str, Any]:
        """Add or replace an OAuth client; ``permissions=None`` grants all."""
        body: dict[str, Any] = {"client_secret": client_secret, "permissions": permissions}
        if token_ttl_seconds is not None:
            body["token_ttl_seconds"] = token_ttl_seconds
        return self.control("PUT", f"oauth-clients/{client_id}", body)

    def delete_client(self, client_id: str) -> None:
        self.control("DELETE", f"oauth-clients/{client_id}")

    def expire_tokens(self) -> None:
        self.control("POST", "tokens/expire")

    def put_queue(
        self,
        queue_id: str = DEMO_QUEUE_ID,
        *,
        name: str = DEMO_QUEUE_NAME,
        agents_on_queue: int = 2,
        agents_idle: int = 1,
        agents_not_responding: int = 0,
        conversations_waiting: int = 0,
        estimated_wait_seconds: int | None = 30,
    ) -> dict[str, Any]:
        return self.control(
            "PUT",
            f"queues/{queue_id}",
            {
                "name": name,
                "agents_on_queue": agents_on_queue,
                "agents_idle": agents_idle,
                "agents_not_responding": agents_not_responding,
                "conversations_waiting": conversations_waiting,
                "estimated_wait_seconds": estimated_wait_seconds,
            },
        )

    def delete_queue(self, queue_id: str) -> None:
        self.control("DELETE", f"queues/{queue_id}")

    def add_fault(
        self,
        path_prefix: str,
        *,
        method: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        delay_seconds: float | None = None,
        times: int = 1,
        for_seconds: float | None = None,
    ) -> dict[str, Any]:
        """The next ``times`` matching requests fail or wait; with ``for_seconds``, every
        matching request for that long."""
        body: dict[str, Any] = {"path_prefix": path_prefix, "times": times}
        for name, value in (
            ("method", method),
            ("status", status),
            ("retry_after", retry_after),
            ("delay_seconds", delay_seconds),
            ("for_seconds", for_seconds),
        ):
            if value is not None:
                body[name] = value
        return self.control("POST", "faults", body)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def drop_streams(self) -> int:
        """Close every open event-stream WebSocket; returns how many were open."""
        return self.control("POST", "faults/drop-streams")["closed"]

    def requests(self, path_prefix: str | None = None) -> list[dict[str, Any]]:
        """The request log (Genesys-bound requests only), oldest first."""
        if path_prefix is None:
            return self.control("GET", "requests")
        return self.control("GET", "requests", path_prefix=path_prefix)

    def request_count(self, path_prefix: str = "", method: str | None = None) -> int:
        """How many Genesys-bound requests arrived (the log keeps only the last 1,000)."""
        params = {"path_prefix": path_prefix, **({"method": method} if method else {})}
        response = self.http.get(
            f"{self.url}/sandbox/requests/count", params=params, timeout=CONTROL_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        return response.json()["count"]

    def clear_requests(self) -> None:
        self.control("DELETE", "requests")

    # Web chat: the guest side (over the real guest API) and the agent side

    def create_chat(
        self, display_name: str = "Guest", *, queue_name: str = DEMO_QUEUE_NAME, **member_info: Any
    ) -> dict[str, Any]:
        """Start a web chat as a guest would; returns ``CreateWebChatConversationResponse``."""
        response = self.http.post(
            f"{self.url}/api/v2/webchat/guest/conversations",
            json={
                "organizationId": self.organization_id,
                "deploymentId": self.deployment_id,
                "routingTarget": {"targetType": "QUEUE", "targetAddress": queue_name},
                "memberInfo": {"displayName": display_name, **member_info},
            },
            timeout=CONTROL_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        return response.json()

    def conversations(self) -> list[dict[str, Any]]:
        return self.control("GET", "conversations")

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        return self.control("GET", f"conversations/{conversation_id}")

    def agent_join(self, conversation_id: str, name: str = "Alex Agent") -> dict[str, Any]:
        """Returns ``{"member": WebChatMemberInfo of the agent, "conversation": …}``."""
        return self.control("POST", f"conversations/{conversation_id}/agent/join", {"name": name})

    def agent_send(self, conversation_id: str, body: str) -> str:
        """Send a message as the agent; returns the message id."""
        path = f"conversations/{conversation_id}/agent/messages"
        return self.control("POST", path, {"body": body})["id"]

    def agent_typing(self, conversation_id: str) -> None:
        self.control("POST", f"conversations/{conversation_id}/agent/typing")

    def agent_leave(self, conversation_id: str, *, end_conversation: bool = True) -> dict[str, Any]:
        path = f"conversations/{conversation_id}/agent/leave"
        return self.control("POST", path, {"end_conversation": end_conversation})

    # Open Messaging: the integration's webhook, the agent side, webhook attempts

    def put_open_integration(
        self,
        webhook_url: str,
        webhook_secret: str,
        integration_id: str = DEMO_OPEN_INTEGRATION_ID,
        *,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Point an Open Messaging integration at a webhook; the secret needs > 15 chars."""
        body: dict[str, Any] = {"webhook_url": webhook_url, "webhook_secret": webhook_secret}
        if name is not None:
            body["name"] = name
        return self.control("PUT", f"open-messaging/integrations/{integration_id}", body)

    def om_conversations(self) -> list[dict[str, Any]]:
        return self.control("GET", "open-messaging/conversations")

    def om_conversation(self, conversation_id: str) -> dict[str, Any]:
        return self.control("GET", f"open-messaging/conversations/{conversation_id}")

    def om_agent_join(self, conversation_id: str, name: str = "Alex Agent") -> dict[str, Any]:
        """Returns ``{"participant": …, "conversation": …}``."""
        path = f"open-messaging/conversations/{conversation_id}/agent/join"
        return self.control("POST", path, {"name": name})

    def om_agent_send(
        self, conversation_id: str, text: str = "", content: list[dict[str, Any]] | None = None
    ) -> str:
        """Send a message as the agent (``content``: Genesys's attachments, quick replies,
        cards); returns its Genesys message id (the webhook's ``id``)."""
        path = f"open-messaging/conversations/{conversation_id}/agent/messages"
        body: dict[str, Any] = {"text": text}
        if content is not None:
            body["content"] = content
        return self.control("POST", path, body)["id"]

    def om_bot_message(
        self, conversation_id: str, text: str, name: str = "Sandbox In-Queue Flow"
    ) -> str:
        """An in-queue flow or bot speaks (``originatingEntity: "Bot"``); the message id."""
        path = f"open-messaging/conversations/{conversation_id}/bot-message"
        return self.control("POST", path, {"text": text, "name": name})["id"]

    def om_agent_typing(self, conversation_id: str) -> str:
        """Returns the id of the typing event's webhook body."""
        return self.control("POST", f"open-messaging/conversations/{conversation_id}/agent/typing")[
            "id"
        ]

    def om_agent_leave(
        self, conversation_id: str, *, end_conversation: bool = True
    ) -> dict[str, Any]:
        path = f"open-messaging/conversations/{conversation_id}/agent/leave"
        return self.control("POST", path, {"end_conversation": end_conversation})

    def om_transfer(self, conversation_id: str, queue_name: str) -> dict[str, Any]:
        path = f"open-messaging/conversations/{conversation_id}/transfer"
        return self.control("POST", path, {"queue_name": queue_name})

    def om_deliveries(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        """Every webhook attempt, oldest first."""
        if conversation_id is None:
            return self.control("GET", "open-messaging/deliveries")
        return self.control("GET", "open-messaging/deliveries", conversation_id=conversation_id)

    def om_start_conversations(
        self, user_ids: list[str], integration_id: str = DEMO_OPEN_INTEGRATION_ID
    ) -> list[str]:
        """A waiting conversation per user id at once (as a first message would start
        it); their Genesys ids, in order."""
        body = {"integration_id": integration_id, "user_ids": user_ids}
        return self.control("POST", "open-messaging/conversations", body)["conversation_ids"]

    def om_agents_end(self, conversation_ids: list[str], *, announce_join: bool = True) -> int:
        """In each conversation an agent joins and ends it; how many were ended. With
        ``announce_join`` false only the end is published (one notification each)."""
        body = {"conversation_ids": conversation_ids, "announce_join": announce_join}
        return self.control("POST", "open-messaging/agents/end", body)["ended"]

    # Process Automation triggers

    def add_trigger(self, name: str, **fields: Any) -> dict[str, Any]:
        """A trigger (``topic_name``, ``enabled``, ``match_criteria``, ``fire_url``,
        ``fire_headers``, …); returns it as the API's ``Trigger``."""
        return self.control("POST", "process-automation/triggers", {"name": name, **fields})

    def trigger_firings(self) -> list[dict[str, Any]]:
        return self.control("GET", "process-automation/firings")
