"""Signed Open Messaging webhooks: background delivery, in order per conversation, with retries.

The body is serialised and signed once when the message is queued, so every retry sends the
same bytes and the same ``X-Hub-Signature-256``; receivers deduplicate by the body's ``id``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from genesys_sandbox.open_messaging_models import DeliveryAttempt, OpenMessagingWorld

logger = logging.getLogger("genesys_sandbox")

SIGNATURE_HEADER = "X-Hub-Signature-256"
REQUEST_TIMEOUT_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 5.0


def signature(secret: str, body: bytes) -> str:
    """``sha256=`` + base64 of HMAC-SHA256 over the raw body, keyed with the secret token."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


@dataclass
class Delivery:
    """One webhook POST, ready to (re)send."""

    conversation_id: str
    message_id: str
    kind: str
    url: str | None
    body: bytes
    headers: dict[str, str] = field(default_factory=dict, repr=False)


def make_delivery(
    *,
    conversation_id: str,
    payload: dict[str, Any],
    url: str | None,
    secret: str | None,
) -> Delivery:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "Genesys-Cloud-Sandbox"}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    return Delivery(conversation_id, payload["id"], payload["type"], url, body, headers)


class WebhookDeliverer:
    """One queue and worker task per conversation, so each conversation's order holds."""

    def __init__(self, world: OpenMessagingWorld) -> None:
        self.world = world
        self.queues: dict[str, asyncio.Queue[Delivery]] = {}
        self.workers: dict[str, asyncio.Task[None]] = {}
        self.session: aiohttp.ClientSession | None = None

    def enqueue(self, delivery: Delivery) -> None:
        queue = self.queues.get(delivery.conversation_id)
        if queue is None:
            queue = self.queues[delivery.conversation_id] = asyncio.Queue()
            self.workers[delivery.conversation_id] = asyncio.create_task(self._work(queue))
        queue.put_nowait(delivery)

    async def _work(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Webhook delivery of %s failed", delivery.message_id)

    async def _deliver(self, delivery: Delivery) -> None:
        attempts = self.world.webhook_retries + 1
        for attempt in range(1, attempts + 1):
            record = DeliveryAttempt(
                delivery.conversation_id, delivery.message_id, delivery.kind, attempt, delivery.url
            )
            self.world.record_delivery(record)
            if not delivery.url:
                record.error = "no webhook URL configured"
                return
            try:
                if self.session is None or self.session.closed:
                    self.session = aiohttp.ClientSession(
                        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
                    )
                async with self.session.post(
                    delivery.url, data=delivery.body, headers=delivery.headers
                ) as response:
                    await response.read()
                    record.status = response.status
                    if 200 <= response.status < 300:
                        return
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
                record.error = type(error).__name__
            logger.info(
                "Webhook %s attempt %s: %s",
                delivery.message_id,
                attempt,
                record.status or record.error,
            )
            if attempt < attempts:
                backoff = self.world.webhook_backoff_seconds * 2 ** (attempt - 1)
                await asyncio.sleep(min(backoff, MAX_BACKOFF_SECONDS))

    async def reset(self) -> None:
        """Drop every pending delivery (``POST /sandbox/reset``)."""
        workers = list(self.workers.values())
        self.queues.clear()
        self.workers.clear()
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        await self.reset()
        if self.session is not None:
            await self.session.close()
