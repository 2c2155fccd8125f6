"""A fake help desk at the edge: a real HTTP server on 127.0.0.1 that answers like a desk.

The test provider (``tests.desk_provider``) talks to it over HTTP. It keeps conversations
keyed by our id for them (the handover's public id), each with the user's messages and the
agent's events, records every request it receives, checks the bearer token, and can be told
to fail: a status (429 with ``Retry-After``, 503…) instead of doing the call, or doing the
call and answering only after ``delay_seconds`` (a client that timed out before then does
not know the message arrived).

The desk's API (JSON):

=======================================================  ====================================
``PUT /api/conversations/{id}``                          open it (201; 200 if it exists)
``GET /api/conversations/{id}``                          ``{"id", "state": "open"|"ended"}``
``POST /api/conversations/{id}/messages`` ``{text, ref}``  201 ``{"id"}``; 409 once ended
``GET /api/conversations/{id}/messages``                 ``{"messages": [{"id", "text", "ref"}]}``
``POST /api/conversations/{id}/typing``                  204; 409 once ended
``POST /api/conversations/{id}/end``                     200; 409 ``conversation_ended`` if ended
``GET /api/conversations/{id}/events?after=<seq>``       ``{"events": [{"seq", "id", "type", …}]}``
=======================================================  ====================================

A 409 body is ``{"error": "conversation_ended"}``; an unknown conversation answers 404.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CONVERSATION = re.compile(r"^/api/conversations/(?P<id>[^/]+)(?:/(?P<what>[a-z]+))?/?$")


@dataclass
class Fault:
    """The next ``times`` requests whose path starts with ``path_prefix`` (and method, if
    given) fail with ``status``; without a status they are done and answered late."""

    path_prefix: str
    method: str | None = None
    status: int | None = None
    retry_after: int | None = None
    delay_seconds: float = 0.0
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)


@dataclass
class Conversation:
    id: str
    user: dict[str, Any]
    state: str = "open"
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    typing: int = 0


class FakeDesk:
    """The desk; ``url`` is its base URL, ``token`` the API token it accepts."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.conversations: dict[str, Conversation] = {}
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeDesk:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # What a test tells the desk.

    def add_fault(self, path_prefix: str, **fault: Any) -> None:
        with self._lock:
            self.faults.append(Fault(path_prefix, **fault))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def agent_join(self, conversation_id: str, name: str = "Dana Desk") -> str:
        return self._agent_event(conversation_id, "agent_joined", agent=name)

    def agent_say(self, conversation_id: str, text: str, name: str = "Dana Desk") -> str:
        return self._agent_event(conversation_id, "agent_message", agent=name, text=text)

    def agent_typing(self, conversation_id: str, name: str = "Dana Desk") -> str:
        return self._agent_event(conversation_id, "agent_typing", agent=name)

    def agent_end(self, conversation_id: str, name: str = "Dana Desk") -> str:
        """The agent closes the conversation (as a desk's "resolve" button does)."""
        with self._lock:
            self.conversations[conversation_id].state = "ended"
        return self._agent_event(conversation_id, "conversation_ended", agent=name)

    def _agent_event(self, conversation_id: str, kind: str, **data: Any) -> str:
        with self._lock:
            conversation = self.conversations[conversation_id]
            seq = len(conversation.events) + 1
            event = {"seq": seq, "id": f"ev-{next(self._ids)}", "type": kind, **data}
            conversation.events.append(event)
            return event["id"]

    # What a test reads.

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """The user's messages the desk stored (``id``, ``text``, ``ref``), in order."""
        with self._lock:
            conversation = self.conversations.get(conversation_id)
            return [dict(m) for m in conversation.messages] if conversation else []

    def count(self) -> int:
        with self._lock:
            return len(self.conversations)

    def state(self, conversation_id: str) -> str | None:
        with self._lock:
            conversation = self.conversations.get(conversation_id)
            return conversation.state if conversation else None

    def received(self, method: str | None = None, what: str | None = None) -> list[dict]:
        """The requests received (``what``: the last path segment, e.g. ``messages``)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if method in (None, r["method"]) and what in (None, r["what"])
            ]

    # The HTTP side.

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        desk = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                desk._serve(self, "GET")

            def do_PUT(self) -> None:
                desk._serve(self, "PUT")

            def do_POST(self) -> None:
                desk._serve(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        match = CONVERSATION.match(split.path)
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": split.path,
                    "what": (match.group("what") or "conversation") if match else None,
                    "headers": dict(handler.headers.items()),
                    "json": body,
                }
            )
            fault = self._take_fault(method, split.path)
        if fault is not None and fault.status is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            return self._answer(handler, fault.status, {"error": "fault"}, headers)
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self._answer(handler, 401, {"error": "unauthorized"})
        if match is None:
            return self._answer(handler, 404, {"error": "not_found"})
        with self._lock:
            status, answer = self._do(
                method, match.group("id"), match.group("what"), body, parse_qs(split.query)
            )
        if fault is not None:
            time.sleep(fault.delay_seconds)  # done, but answered after the client gave up
        self._answer(handler, status, answer)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _do(
        self, method: str, conversation_id: str, what: str | None, body: Any, query: dict
    ) -> tuple[int, Any]:
        conversation = self.conversations.get(conversation_id)
        if method == "PUT" and what is None:
            if conversation is not None:
                return 200, {"id": conversation.id, "state": conversation.state}
            self.conversations[conversation_id] = Conversation(conversation_id, body or {})
            return 201, {"id": conversation_id, "state": "open"}
        if conversation is None:
            return 404, {"error": "not_found"}
        ended = (409, {"error": "conversation_ended"})
        if method == "GET" and what is None:
            return 200, {"id": conversation.id, "state": conversation.state}
        if method == "GET" and what == "messages":
            return 200, {"messages": list(conversation.messages)}
        if method == "GET" and what == "events":
            after = int(query.get("after", ["0"])[0])
            return 200, {"events": [e for e in conversation.events if e["seq"] > after]}
        if method == "POST" and what == "messages":
            if conversation.state == "ended":
                return ended
            if not isinstance(body, dict) or not isinstance(body.get("text"), str):
                return 400, {"error": "text_required"}
            message = {"id": f"m-{next(self._ids)}", "text": body["text"], "ref": body.get("ref")}
            conversation.messages.append(message)
            return 201, {"id": message["id"]}
        if method == "POST" and what == "typing":
            if conversation.state == "ended":
                return ended
            conversation.typing += 1
            return 204, None
        if method == "POST" and what == "end":
            if conversation.state == "ended":
                return ended
            conversation.state = "ended"
            return 200, {"id": conversation.id, "state": "ended"}
        return 405, {"error": "method_not_allowed"}

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler,
        status: int,
        answer: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = b"" if answer is None else json.dumps(answer).encode()
        # The client may have given up waiting (a late answer): nobody to tell.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
