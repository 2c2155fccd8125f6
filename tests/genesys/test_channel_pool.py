"""Several Notifications API channels per connection (``genesys.open_messaging.channel_pool``):
sharding, stickiness, the channel limit, credentials changes. No Genesys here: the channels'
``run`` is a stand-in; the relay against the sandbox is in ``test_channel_lifetime`` and
``tests/e2e/test_end_detection_at_scale``."""

from __future__ import annotations

import asyncio
import logging

import pytest

from genesys.open_messaging import channel_pool
from genesys.open_messaging.channel_pool import NotificationsSupervisor, ShardPlan
from genesys.open_messaging.notifications import NotificationChannel
from genesys.platform.regions import get_region
from tests.factories import OAuth2ConnectionFactory

REGION = get_region("mypurecloud.de")


def ids(start: int, stop: int) -> set[str]:
    return {f"c-{n:05d}" for n in range(start, stop)}


# The plan


def test_conversations_fill_channels_of_at_most_max_topics():
    plan = ShardPlan(max_channels=20, max_topics=1000)
    slots = plan.assign(ids(0, 2500))
    assert sorted(len(slot) for slot in slots.values()) == [500, 1000, 1000]
    assert set().union(*slots.values()) == ids(0, 2500)
    assert plan.unwatched == set()


def test_an_ending_conversation_moves_no_other():
    plan = ShardPlan(max_channels=20, max_topics=1000)
    before = {slot: set(members) for slot, members in plan.assign(ids(0, 2500)).items()}
    gone = next(iter(before[0]))
    after = plan.assign(ids(0, 2500) - {gone})
    assert after[0] == before[0] - {gone}
    assert after[1] == before[1]
    assert after[2] == before[2]
    # A new one takes the free place; nobody else moves.
    after = plan.assign(ids(0, 2500) - {gone} | {"new"})
    assert after[0] == before[0] - {gone} | {"new"}
    assert after[1] == before[1]
    assert after[2] == before[2]


def test_an_emptied_channel_is_dropped_and_its_slot_reused():
    plan = ShardPlan(max_channels=3, max_topics=2)
    plan.assign({"a", "b", "c", "d"})
    assert plan.slots == {0: {"a", "b"}, 1: {"c", "d"}}
    plan.assign({"c", "d"})
    assert plan.slots == {1: {"c", "d"}}
    plan.assign({"c", "d", "e"})
    assert plan.slots == {0: {"e"}, 1: {"c", "d"}}


def test_past_the_channel_limit_the_newest_are_left_unwatched_then_placed_when_room_frees():
    plan = ShardPlan(max_channels=2, max_topics=3)
    plan.assign({"a", "b", "c", "d", "e", "f"})
    plan.assign({"a", "b", "c", "d", "e", "f", "g", "h"})
    assert plan.unwatched == {"g", "h"}
    assert set().union(*plan.slots.values()) == {"a", "b", "c", "d", "e", "f"}
    plan.assign({"b", "c", "d", "e", "f", "g", "h"})
    assert plan.unwatched == {"h"}
    assert "g" in plan.slots[0]


# The supervisor


@pytest.fixture
def idle_channels(monkeypatch) -> None:
    """Channels that hold nothing remote: ``run`` waits until cancelled."""

    async def run(self: NotificationChannel) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(NotificationChannel, "run", run)
    return


async def _noop(*args: object) -> str:
    return ""


def supervisor(**options: object) -> NotificationsSupervisor:
    return NotificationsSupervisor(_noop, _noop, **options)


def watched(sup: NotificationsSupervisor) -> dict[int, set[str]]:
    [pool] = sup.pools.values()
    return {slot: channel.conversations for slot, (channel, _) in pool.channels.items()}


@pytest.mark.django_db
def test_the_supervisor_runs_a_channel_per_slot_and_keeps_them_while_others_end(idle_channels):
    connection = OAuth2ConnectionFactory()
    key = (connection.pk, REGION.host)

    async def scenario() -> None:
        sup = supervisor(max_channels=20, max_topics=1000)
        await sup.sync({key: (REGION, connection, ids(0, 1500))})
        first = dict(sup.pools[key].channels)
        assert {slot: len(c) for slot, c in watched(sup).items()} == {0: 1000, 1: 500}
        await sup.sync({key: (REGION, connection, ids(1, 1500))})  # c-00000 ended
        assert sup.pools[key].channels == first  # the same channel objects and tasks
        assert watched(sup)[1] == ids(1000, 1500)
        await sup.close()
        assert all(task.cancelled() for _, task in first.values())

    asyncio.run(scenario())


@pytest.mark.django_db
def test_conversations_past_the_channel_limit_are_logged_once(idle_channels, caplog):
    connection = OAuth2ConnectionFactory(name="EU client")
    key = (connection.pk, REGION.host)

    async def scenario() -> None:
        sup = supervisor(max_channels=2, max_topics=10)
        for _ in range(3):  # three polls
            await sup.sync({key: (REGION, connection, ids(0, 25))})
        assert len(sup.pools[key].channels) == 2
        await sup.sync({key: (REGION, connection, ids(0, 20))})
        await sup.close()

    with caplog.at_level(logging.INFO, logger=channel_pool.__name__):
        asyncio.run(scenario())
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "25 open conversations" in errors[0]
    assert "5 are not watched" in errors[0]
    assert "end webhook" in errors[0]
    assert "EU client" in errors[0]
    assert "every open conversation is watched again" in caplog.text


@pytest.mark.django_db
def test_a_changed_client_secret_gives_new_channels_with_it_in_the_same_slots(idle_channels):
    connection = OAuth2ConnectionFactory()
    key = (connection.pk, REGION.host)
    loop = asyncio.new_event_loop()
    sup = supervisor(max_channels=20, max_topics=2)

    def poll(row: object) -> dict:
        loop.run_until_complete(sup.sync({key: (REGION, row, {"a", "b", "c"})}))
        return dict(sup.pools[key].channels)

    try:
        before = poll(connection)
        assert poll(type(connection).objects.get(pk=connection.pk)) == before  # no change
        connection.client_secret = "a-brand-new-client-secret"
        connection.save()
        after = poll(type(connection).objects.get(pk=connection.pk))  # the next poll's row
        loop.run_until_complete(asyncio.sleep(0))
        assert all(task.cancelled() for _, task in before.values())
        assert {s: c.conversations for s, (c, _) in after.items()} == {
            s: c.conversations for s, (c, _) in before.items()
        }
        secrets = {c.connection.client_secret for c, _ in after.values()}
        assert secrets == {"a-brand-new-client-secret"}
    finally:
        loop.run_until_complete(sup.close())
        loop.close()


@pytest.mark.django_db
def test_the_credentials_version_follows_secret_id_and_saves():
    connection = OAuth2ConnectionFactory()
    version = channel_pool.credentials_version(connection)
    assert channel_pool.credentials_version(connection) == version
    connection.client_secret = "another-secret-entirely"
    assert channel_pool.credentials_version(connection) != version


def test_every_channel_of_a_supervisor_shares_the_catch_up_turns():
    """Five channels catching up on 1,000 conversations each read ``catch_up_concurrency``
    at once in all, not each: the thread pool they share keeps threads for creating and
    subscribing the next channel and for recording frames (with turns of their own, four
    channels' reads filled it and the fifth channel waited behind them)."""

    async def record(*args: object) -> str:
        return ""

    supervisor = NotificationsSupervisor(record, record, catch_up_concurrency=3)
    region, connection = get_region("mypurecloud.de"), OAuth2ConnectionFactory.build()
    channels = [supervisor.new_channel(region, connection) for _ in range(5)]
    turns = {id(channel._reading) for channel in channels}
    assert len(turns) == 1
    assert channels[0]._reading._value == 3
