"""A stand-in for the channel's callback endpoint: a real HTTP server on a free port.

It records every POST (headers and raw body) and can be told to fail the next N calls,
to answer 503 for a while (``fail_for``), or to be down altogether (``go_down``: nothing
listens on its port until ``come_back``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChannelServer:
    def __init__(self, port: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.fail_status = 503
        self.fail_until = 0.0  # time.monotonic(): every call fails until then
        self.attempts = 0  # every POST that reached the server, failed ones too
        self._lock = threading.Lock()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._bind()

    def _bind(self) -> None:
        channel = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with channel._lock:
                    channel.attempts += 1
                    failing = channel.fail_next > 0 or time.monotonic() < channel.fail_until
                    if channel.fail_next > 0:
                        channel.fail_next -= 1
                    if not failing:
                        channel.received.append(
                            {"headers": dict(self.headers.items()), "body": body}
                        )
                self.send_response(channel.fail_status if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/callback"

    @property
    def up(self) -> bool:
        return self._server is not None

    def start(self) -> ChannelServer:
        assert self._thread is not None
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = self._thread = None

    def fail_for(self, seconds: float, status: int = 503) -> None:
        """Answer ``status`` to every call for ``seconds`` from now."""
        with self._lock:
            self.fail_status = status
            self.fail_until = time.monotonic() + seconds

    def go_down(self) -> None:
        """Stop listening: calls are refused until ``come_back``."""
        self.stop()

    def come_back(self) -> None:
        """Listen again, on the same port and URL."""
        if self._server is None:
            self._bind()
            self.start()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(item["body"]) for item in self.received]
