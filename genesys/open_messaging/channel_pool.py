"""Several Notifications API channels per (OAuth connection, region), for any number of open
Open Messaging handovers within Genesys's limits (GENESYS.md, "End of conversation at scale";
the SDK's ``post_notifications_channels``): a channel takes at most ``MAX_TOPICS`` topics,
an OAuth client holds at most 20 channels (a 21st removes the one used longest ago), and a
channel lives 24 h.

``ShardPlan`` decides which channel (a numbered slot) watches which conversation, stickily:
a conversation keeps its slot while it stays open, so one ending never moves the others
(no resubscription, no catch-up read for them). Past ``max_channels * max_topics`` the
conversations beyond are left unwatched, logged once: their ends then rely on the end
webhook (the Genesys trigger recipe in the README) and the relay's expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from genesys.models import OAuth2Connection
from genesys.open_messaging.notifications import (
    MAX_TOPICS,
    EndHandler,
    Handler,
    NotificationChannel,
)
from genesys.platform import errors, tokens
from genesys.platform.regions import Region

logger = logging.getLogger(__name__)

#: Genesys's per-OAuth-client limit (SDK: "a limit of 20 channels per user/app combination").
MAX_CHANNELS = 20

#: (OAuth connection pk, region host) → (region, connection, conversation ids).
Wanted = Mapping[tuple[int, str], tuple[Region, OAuth2Connection, set[str]]]


class ShardPlan:
    """Conversations by channel slot (``0 … max_channels - 1``), at most ``max_topics``
    each; ``assign`` keeps every conversation that stays where it was."""

    def __init__(self, *, max_channels: int = MAX_CHANNELS, max_topics: int = MAX_TOPICS):
        self.max_channels = max_channels
        self.max_topics = max_topics
        self.slots: dict[int, set[str]] = {}
        #: The wanted conversations no slot had room for.
        self.unwatched: set[str] = set()

    def assign(self, wanted: set[str]) -> dict[int, set[str]]:
        """Place ``wanted``: the gone leave their slots, the new fill the lowest slots with
        room (a new slot only when the others are full); empty slots are dropped."""
        placed: set[str] = set()
        for slot in list(self.slots):
            self.slots[slot] &= wanted
            if not self.slots[slot]:
                del self.slots[slot]
            else:
                placed |= self.slots[slot]
        self.unwatched = set()
        for conversation_id in sorted(wanted - placed):
            slot = self._slot_with_room()
            if slot is None:
                self.unwatched.add(conversation_id)
            else:
                self.slots.setdefault(slot, set()).add(conversation_id)
        return self.slots

    def _slot_with_room(self) -> int | None:
        for slot in sorted(self.slots):
            if len(self.slots[slot]) < self.max_topics:
                return slot
        free = next((n for n in range(self.max_channels) if n not in self.slots), None)
        return free


def credentials_version(connection: OAuth2Connection) -> str:
    """A digest of what the connection's tokens are requested with (and when it was last
    saved): a changed client secret or ID gives new channels, authenticated with it."""
    try:
        client_id, secret = tokens.basic_credentials(connection)
    except errors.GenesysError:
        client_id, secret = connection.client_id, ""  # the token request will say why
    material = "\0".join(
        [connection.oauth_url, client_id, secret, connection.scope, str(connection.updated_at)]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]


class ChannelPool:
    """The channels of one (OAuth connection, region), one task each."""

    def __init__(
        self,
        region: Region,
        connection: OAuth2Connection,
        supervisor: NotificationsSupervisor,
    ) -> None:
        self.region = region
        self.connection = connection
        self.version = credentials_version(connection)
        self.supervisor = supervisor
        self.plan = ShardPlan(
            max_channels=supervisor.max_channels, max_topics=supervisor.max_topics
        )
        self.channels: dict[int, tuple[NotificationChannel, asyncio.Task[None]]] = {}
        self._overflow_logged = False

    def sync(self, conversation_ids: set[str]) -> None:
        slots = self.plan.assign(conversation_ids)
        for slot in list(self.channels):
            if slot not in slots:
                self._stop(slot)
        for slot, ids in slots.items():
            entry = self.channels.get(slot)
            if entry is None or entry[1].done():
                channel = self.supervisor.new_channel(self.region, self.connection)
                name = f"genesys-notifications-{self.connection.pk}-{self.region.host}-{slot}"
                entry = (channel, asyncio.create_task(channel.run(), name=name))
                self.channels[slot] = entry
            entry[0].watch(ids)
        self._log_overflow(len(conversation_ids))

    def _log_overflow(self, wanted: int) -> None:
        unwatched = len(self.plan.unwatched)
        if unwatched and not self._overflow_logged:
            self._overflow_logged = True
            logger.error(
                "Genesys notifications (%s, OAuth connection “%s”): %s open conversations, "
                "%s channels of %s topics hold %s: %s are not watched; their ends rely on "
                "the end webhook (the Genesys trigger recipe in the README). Raise "
                "GENESYS_NOTIFICATIONS_MAX_CHANNELS (Genesys allows 20 per OAuth client, "
                "shared by relay replicas) or give replicas OAuth clients of their own.",
                self.region.host, self.connection.name, wanted, self.plan.max_channels,
                self.plan.max_topics, wanted - unwatched, unwatched,
            )  # fmt: skip
        elif not unwatched and self._overflow_logged:
            self._overflow_logged = False
            logger.info(
                "Genesys notifications (%s): every open conversation is watched again",
                self.region.host,
            )

    def _stop(self, slot: int) -> None:
        channel, task = self.channels.pop(slot)
        task.cancel()
        self.supervisor.closing.append((channel, task))

    def stop_all(self) -> None:
        for slot in list(self.channels):
            self._stop(slot)


class NotificationsSupervisor:
    """The channels of every (OAuth connection, region), kept in step with the open Open
    Messaging handovers by ``sync``: sharded by ``ShardPlan``, rebuilt when the
    connection's credentials change (``credentials_version``)."""

    def __init__(
        self,
        on_participants: Handler,
        on_abandoned: EndHandler,
        *,
        max_channels: int = MAX_CHANNELS,
        max_topics: int = MAX_TOPICS,
        catch_up_concurrency: int = 4,
        **options: Any,
    ) -> None:
        self.on_participants = on_participants
        self.on_abandoned = on_abandoned
        self.max_channels = max_channels
        self.max_topics = min(max_topics, MAX_TOPICS)
        #: The catch-up reads of every channel together, so that the blocking pool they
        #: share keeps threads for creating and subscribing channels and recording frames.
        self.options = {
            **options,
            "catch_up_turns": asyncio.Semaphore(max(1, catch_up_concurrency)),
        }
        self.pools: dict[tuple[int, str], ChannelPool] = {}
        #: Channels stopped since the last sync, closed (their grace tasks) there.
        self.closing: list[tuple[NotificationChannel, asyncio.Task[None]]] = []

    def new_channel(self, region: Region, connection: OAuth2Connection) -> NotificationChannel:
        return NotificationChannel(
            region, connection, self.on_participants, self.on_abandoned, **self.options
        )

    @property
    def channels(self) -> list[NotificationChannel]:
        return [channel for pool in self.pools.values() for channel, _ in pool.channels.values()]

    async def sync(self, wanted: Wanted) -> None:
        for key in list(self.pools):
            if key not in wanted:
                self.pools.pop(key).stop_all()
        for key, (region, connection, conversation_ids) in wanted.items():
            pool = self.pools.get(key)
            if pool is not None and pool.version != credentials_version(connection):
                logger.info(
                    "Genesys notifications (%s): the credentials of “%s” changed; "
                    "new channels with them",
                    region.host, connection.name,
                )  # fmt: skip
                pool.stop_all()
                plan, pool = pool.plan, ChannelPool(region, connection, self)
                pool.plan = plan  # the same conversations in the same slots: sticky
                self.pools[key] = pool
            if pool is None:
                pool = self.pools[key] = ChannelPool(region, connection, self)
            pool.sync(conversation_ids)
        await self._close_stopped()

    async def _close_stopped(self) -> None:
        closing, self.closing = self.closing, []
        for channel, _ in closing:
            await channel.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*(task for _, task in closing), return_exceptions=True)

    async def close(self) -> None:
        for pool in self.pools.values():
            pool.stop_all()
        self.pools.clear()
        await self._close_stopped()
