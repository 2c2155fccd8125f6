"""A stand-in for the channel's callback endpoint: a real HTTP server on a free port.

It records every POST (headers and raw body) and can be told to fail the next N calls.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChannelServer:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.fail_status = 503
        self._lock = threading.Lock()
        channel = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with channel._lock:
                    failing = channel.fail_next > 0
                    if failing:
                        channel.fail_next -= 1
                    else:
                        channel.received.append(
                            {"headers": dict(self.headers.items()), "body": body}
                        )
                self.send_response(channel.fail_status if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/callback"

    def start(self) -> ChannelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(item["body"]) for item in self.received]
