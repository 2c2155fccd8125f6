"""The runtime API as a channel drives it (``Authorization: Api-Key …``), over HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import requests


class Channel:
    def __init__(self, base_url: str, key: str) -> None:
        self.base = f"{base_url}/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Api-Key {key}"

    def start(self, endpoint: str, **body: Any) -> dict[str, Any]:
        body.setdefault("user_id", f"user-{uuid.uuid4().hex[:8]}")
        body.setdefault("session_id", str(uuid.uuid4()))
        response = self.http.post(f"{self.base}/endpoints/{endpoint}/handovers/", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"start answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def send(self, handover: str, text: str, client_message_id: str) -> requests.Response:
        response = self.http.post(
            f"{self.base}/handovers/{handover}/messages/",
            json={"text": text, "client_message_id": client_message_id},
        )
        if response.status_code != 202:
            raise RuntimeError(f"message answered {response.status_code}: {response.text[:500]}")
        return response


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
