"""The channel's callback receiver: a real HTTP server on 127.0.0.1 in this process that
records when each signed callback arrived (``time.perf_counter()``) and checks its
signature (``X-Handover-Signature``, as the README tells a channel to)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class CallbackReceiver:
    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self.bad_signatures = 0
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = time.perf_counter()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver._record(arrived, dict(self.headers.items()), body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/callback"

    def _record(self, arrived: float, headers: dict[str, str], body: bytes) -> None:
        timestamp = headers.get("X-Handover-Timestamp", "")
        signed = timestamp.encode() + b"." + body
        expected = "sha256=" + hmac.new(self.secret, signed, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(expected, headers.get("X-Handover-Signature", ""))
        try:
            event = json.loads(body)
        except ValueError:
            event = {}
        with self.changed:
            if good:
                self.arrivals.append((arrived, event))
            else:
                self.bad_signatures += 1
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` signed callbacks have arrived in all."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.arrivals) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
