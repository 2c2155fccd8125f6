"""The sandbox's in-memory world: OAuth clients, tokens, queues, chats, faults, request log.

Everything lives in the one aiohttp event loop, so plain dataclasses without locks suffice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DEMO_ORGANIZATION_ID = "5f3c2a1e-9b7d-4c6a-8e2f-0a1b2c3d4e5f"
DEMO_DEPLOYMENT_ID = "8d6e4b2a-1c3f-4a5e-9b7d-6f5e4d3c2b1a"
DEMO_QUEUE_ID = "2b9f6c4e-7a1d-4e3b-8c5f-9d0e1f2a3b4c"
DEMO_QUEUE_NAME = "Sandbox Support Queue"
DEMO_CLIENT_ID = "sandbox-client"
DEMO_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 (a published demo credential)
DEFAULT_TOKEN_TTL_SECONDS = 86400
DEFAULT_HEARTBEAT_SECONDS = 30.0
MAX_REQUEST_LOG = 1000

# Member roles and states, as in the SDK's WebChatMemberInfo.
ROLE_CUSTOMER = "CUSTOMER"
ROLE_AGENT = "AGENT"
ROLE_ACD = "ACD"
CONNECTED = "CONNECTED"
DISCONNECTED = "DISCONNECTED"
ALERTING = "ALERTING"

# Conversation states as the control API reports them (a sandbox notion, not Genesys's).
WAITING = "waiting"
ACTIVE = "active"
ENDED = "ended"


def now_iso() -> str:
    """An ISO-8601 UTC timestamp with milliseconds, as Genesys writes them."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS
    permissions: list[str] | None = None  # None: every permission

    def has_permission(self, permission: str) -> bool:
        """Granted exactly or by a wildcard (``*`` as domain, entity or action)."""
        if self.permissions is None:
            return True
        wanted = permission.split(":")
        for granted in self.permissions:
            parts = ["*", "*", "*"] if granted == "*" else granted.split(":")
            if len(parts) == len(wanted) and all(
                g == "*" or g == w for g, w in zip(parts, wanted, strict=True)
            ):
                return True
        return False

    def summary(self) -> dict[str, Any]:
        """The client without its secret."""
        return {
            "client_id": self.client_id,
            "token_ttl_seconds": self.token_ttl_seconds,
            "permissions": self.permissions,
        }


@dataclass
class Token:
    client_id: str
    expires_at: float  # time.time()

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


@dataclass
class Queue:
    id: str
    name: str
    agents_on_queue: int = 2
    agents_idle: int = 1
    agents_not_responding: int = 0
    conversations_waiting: int = 0
    estimated_wait_seconds: int | None = 30
    date_created: str = field(default_factory=now_iso)

    @property
    def agents_interacting(self) -> int:
        return max(self.agents_on_queue - self.agents_idle - self.agents_not_responding, 0)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "agents_on_queue": self.agents_on_queue,
            "agents_idle": self.agents_idle,
            "agents_not_responding": self.agents_not_responding,
            "conversations_waiting": self.conversations_waiting,
            "estimated_wait_seconds": self.estimated_wait_seconds,
        }


@dataclass
class Fault:
    """The next ``times`` requests under ``path_prefix`` fail with ``status`` and/or wait;
    with ``until`` (a ``time.monotonic()`` deadline) every matching request does, until then.
    """

    path_prefix: str
    method: str | None = None
    status: int | None = None
    retry_after: int | None = None
    delay_seconds: float = 0.0
    times: int = 1
    until: float | None = None

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)

    @property
    def over(self) -> bool:
        if self.until is not None:
            return time.monotonic() >= self.until
        return self.times <= 0

    def summary(self) -> dict[str, Any]:
        left = None if self.until is None else max(0.0, self.until - time.monotonic())
        return {
            "path_prefix": self.path_prefix,
            "method": self.method,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay_seconds": self.delay_seconds,
            "times": None if self.until is not None else self.times,
            "seconds_left": left,
        }


@dataclass
class Member:
    id: str
    role: str
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    avatar_image_url: str | None = None
    custom_fields: dict[str, str] | None = None
    authenticated_guest: bool = False
    state: str = CONNECTED
    join_date: str = field(default_factory=now_iso)
    leave_date: str | None = None

    def disconnect(self) -> None:
        self.state = DISCONNECTED
        self.leave_date = now_iso()

    def info(self) -> dict[str, Any]:
        """The member as ``WebChatMemberInfo``; Genesys leaves out fields that are null."""
        data = {
            "id": self.id,
            "displayName": self.display_name,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "phoneNumber": self.phone_number,
            "avatarImageUrl": self.avatar_image_url,
            "role": self.role,
            "joinDate": self.join_date,
            "leaveDate": self.leave_date,
            "authenticatedGuest": self.authenticated_guest,
            "customFields": self.custom_fields,
            "state": self.state,
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass
class Message:
    id: str
    conversation_id: str
    sender_id: str
    body: str
    body_type: str
    timestamp: str = field(default_factory=now_iso)

    def as_json(self) -> dict[str, Any]:
        """The message as ``WebChatMessage`` (also the event body of a message event)."""
        return {
            "id": self.id,
            "conversation": {"id": self.conversation_id},
            "sender": {"id": self.sender_id},
            "body": self.body,
            "bodyType": self.body_type,
            "timestamp": self.timestamp,
        }


@dataclass
class Conversation:
    id: str
    queue_id: str
    queue_name: str
    organization_id: str
    deployment_id: str
    customer_id: str
    acd_id: str
    jwt: str
    channel_id: str
    members: dict[str, Member] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    state: str = WAITING
    created_at: str = field(default_factory=now_iso)
    #: ``routingTarget``'s ``language``, ``skills`` and ``priority``, as the guest sent them.
    routing: dict[str, Any] = field(default_factory=dict)

    @property
    def customer(self) -> Member:
        return self.members[self.customer_id]

    def connected_agent(self) -> Member | None:
        for member in self.members.values():
            if member.role == ROLE_AGENT and member.state == CONNECTED:
                return member
        return None

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "queue": {"id": self.queue_id, "name": self.queue_name},
            "routing": self.routing,
            "organization_id": self.organization_id,
            "deployment_id": self.deployment_id,
            "created_at": self.created_at,
            "customer": self.customer.info(),
            "members": [member.info() for member in self.members.values()],
            "messages": [message.as_json() for message in self.messages],
        }


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    form: dict[str, str] | None
    at: str = field(default_factory=now_iso)

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "json": self.json,
            "form": self.form,
            "at": self.at,
        }


@dataclass
class SandboxState:
    """The whole world; ``reset()`` brings back the demo organisation."""

    organization_id: str = DEMO_ORGANIZATION_ID
    deployment_id: str = DEMO_DEPLOYMENT_ID
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    request_log: list[LoggedRequest] = field(default_factory=list)
    #: Every Genesys-bound request by (method, path), never truncated like the log.
    request_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Signs the guest JWTs; they are looked up, the signature only makes them look real.
    jwt_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def __post_init__(self) -> None:
        if not self.clients and not self.queues:
            self.reset()

    def reset(self) -> None:
        self.organization_id = DEMO_ORGANIZATION_ID
        self.deployment_id = DEMO_DEPLOYMENT_ID
        self.heartbeat_seconds = DEFAULT_HEARTBEAT_SECONDS
        self.clients = {DEMO_CLIENT_ID: OAuthClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)}
        self.tokens = {}
        self.queues = {DEMO_QUEUE_ID: Queue(DEMO_QUEUE_ID, DEMO_QUEUE_NAME)}
        self.conversations = {}
        self.faults = []
        self.request_log = []
        self.request_counts = Counter()

    # OAuth

    def issue_token(self, client: OAuthClient) -> str:
        token = secrets.token_urlsafe(48)
        self.tokens[token] = Token(client.client_id, time.time() + client.token_ttl_seconds)
        return token

    def client_for_token(self, token: str) -> OAuthClient | None:
        """The client a valid token belongs to; None when unknown, expired or revoked."""
        issued = self.tokens.get(token)
        if issued is None or issued.expired:
            return None
        return self.clients.get(issued.client_id)

    def expire_tokens(self) -> None:
        expired_at = time.time() - 1
        for token in self.tokens.values():
            token.expires_at = expired_at

    # Queues

    def queue_by_name(self, name: str) -> Queue | None:
        return next((queue for queue in self.queues.values() if queue.name == name), None)

    def waiting_count(self, queue: Queue, media_type: str | None = None) -> int:
        """Configured waiting conversations plus the sandbox's own waiting (chat) chats."""
        if media_type not in (None, "chat"):
            return queue.conversations_waiting
        chats = sum(
            1
            for conversation in self.conversations.values()
            if conversation.queue_id == queue.id and conversation.state == WAITING
        )
        return queue.conversations_waiting + chats

    # Faults

    def take_fault(self, method: str, path: str) -> Fault | None:
        self.faults = [fault for fault in self.faults if not fault.over]
        for fault in self.faults:
            if fault.matches(method, path):
                if fault.until is None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # Request log

    def log_request(self, entry: LoggedRequest) -> None:
        self.request_log.append(entry)
        del self.request_log[:-MAX_REQUEST_LOG]
        self.request_counts[(entry.method, entry.path)] += 1

    def request_count(self, path_prefix: str = "", method: str | None = None) -> int:
        """How many requests under ``path_prefix`` (of ``method``) arrived since the reset."""
        return sum(
            count
            for (logged_method, path), count in self.request_counts.items()
            if path.startswith(path_prefix) and method in (None, logged_method)
        )

    # Web chat

    def make_jwt(self, conversation_id: str, member_id: str) -> str:
        """A signed JWT (HS256) naming the conversation and member, like Genesys's."""

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = b64(
            json.dumps(
                {
                    "iss": "sandbox",
                    "iat": int(time.time()),
                    "jti": new_id(),
                    "org": self.organization_id,
                    "conversationId": conversation_id,
                    "memberId": member_id,
                },
                separators=(",", ":"),
            ).encode()
        )
        signature = hmac.new(self.jwt_key, f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{b64(signature.digest())}"

    def conversation_for_channel(self, channel_id: str) -> Conversation | None:
        return next((c for c in self.conversations.values() if c.channel_id == channel_id), None)
