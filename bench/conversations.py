"""Conversations made straight at the sandbox, as Genesys would hold them after the worker
started each handover: web chats through the guest API, Open Messaging conversations
through an inbound message (with a token of the sandbox's demo client)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.seed import SANDBOX


async def _web_chats(base: str, count: int, concurrency: int) -> list[dict[str, Any]]:
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one(n: int) -> dict[str, Any]:
            body = {
                "organizationId": SANDBOX["organization_id"],
                "deploymentId": SANDBOX["deployment_id"],
                "routingTarget": {"targetType": "QUEUE", "targetAddress": SANDBOX["queue_name"]},
                "memberInfo": {"displayName": f"Guest {n}"},
            }
            async with (
                limit,
                http.post(f"{base}/api/v2/webchat/guest/conversations", json=body) as r,
            ):
                r.raise_for_status()
                chat = await r.json()
            return {
                "conversation_id": chat["id"],
                "member_id": chat["member"]["id"],
                "jwt": chat["jwt"],
                "event_stream_uri": chat["eventStreamUri"],
            }

        return await asyncio.gather(*(one(n) for n in range(count)))


def web_chats(base: str, count: int, concurrency: int = 16) -> list[dict[str, Any]]:
    return asyncio.run(_web_chats(base, count, concurrency))


async def _open_messaging(base: str, count: int, concurrency: int) -> list[dict[str, Any]]:
    limit = asyncio.Semaphore(concurrency)
    auth = aiohttp.BasicAuth(SANDBOX["client_id"], SANDBOX["client_secret"])
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=auth
        ) as response:
            response.raise_for_status()
            token = (await response.json())["access_token"]
        url = (
            f"{base}/api/v2/conversations/messages/{SANDBOX['open_integration_id']}"
            "/inbound/open/message?prefetchConversationId=true"
        )

        async def one(n: int) -> dict[str, Any]:
            from_id = uuid.uuid4().hex
            body = {
                "channel": {
                    "messageId": uuid.uuid4().hex,
                    "from": {"id": from_id, "idType": "Opaque", "nickname": f"User {n}"},
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                },
                "text": "I need a human",
            }
            headers = {"Authorization": f"Bearer {token}"}
            async with limit, http.post(url, json=body, headers=headers) as response:
                response.raise_for_status()
                answer = await response.json()
            return {"from_id": from_id, "conversation_id": answer["conversationId"]}

        return await asyncio.gather(*(one(n) for n in range(count)))


def open_messaging(base: str, count: int, concurrency: int = 16) -> list[dict[str, Any]]:
    return asyncio.run(_open_messaging(base, count, concurrency))
