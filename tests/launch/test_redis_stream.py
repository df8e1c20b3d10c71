"""Redis stream event triggers against the real Redis: entries added after the trigger's
creation start executions and are acknowledged after the commit; a pending entry read again
starts no second execution; a bad entry goes to `<stream>:dead` and is counted; a full flow
stops the consumer reading."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from flomation.config import Settings
from flomation.db.session import Database
from flomation.launch.consumers import Consumers, Message, Subscription
from flomation.triggers.schemas import EventResult
from tests.launch.conftest import MakeLaunch
from tests.launch.events import count_executions, event_trigger, eventually, inputs, running, unique
from tests.triggers.factories import end_all, get_trigger

CONNECTION = {"url": "redis://127.0.0.1:6379/0"}


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(CONNECTION["url"], decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def stream(redis: Redis) -> AsyncIterator[str]:
    name = unique("flomation-stream")
    try:
        yield name
    finally:
        await redis.delete(name, f"{name}:dead")


async def _has(database: Database, organization_id: str, count: int) -> bool:
    return await count_executions(database, organization_id) >= count


async def _pending(redis: Redis, stream: str) -> int:
    summary = await redis.xpending(stream, "flomation")
    return int(summary["pending"])


async def test_entries_after_creation_start_executions(
    database: Database, settings: Settings, make_launch: MakeLaunch, redis: Redis, stream: str
) -> None:
    await redis.xadd(stream, {"old": "1"})  # before the trigger: never fires
    trig = await event_trigger(
        database, settings, "redis_stream", "redis", CONNECTION, {"stream": stream}
    )
    added = [await redis.xadd(stream, {"n": str(n), "kind": "order"}) for n in range(3)]
    async with running(make_launch()):
        await eventually(lambda: _has(database, trig.organization_id, 3))

        async def drained() -> bool:
            return await _pending(redis, stream) == 0

        await eventually(drained)
    got = sorted(await inputs(database, trig.organization_id), key=lambda i: i["id"])
    assert got == [
        {"id": ident, "fields": {"n": str(n), "kind": "order"}} for n, ident in enumerate(added)
    ]
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert state.events_total == 3
    assert state.healthy is True


async def test_a_pending_entry_read_again_starts_no_second_execution(
    database: Database,
    settings: Settings,
    make_launch: MakeLaunch,
    redis: Redis,
    stream: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trig = await event_trigger(
        database, settings, "redis_stream", "redis", CONNECTION, {"stream": stream}
    )
    killed: list[str] = []
    acknowledge = Consumers.acknowledge

    async def killed_before_ack(
        self: Consumers, subscription: Subscription, message: Message, result: EventResult
    ) -> None:
        if not killed:
            killed.append(str(result.execution_id))
            raise asyncio.CancelledError
        await acknowledge(self, subscription, message, result)

    monkeypatch.setattr(Consumers, "acknowledge", killed_before_ack)
    await redis.xadd(stream, {"v": "once"})
    async with running(make_launch()):

        async def was_killed() -> bool:
            return bool(killed)

        await eventually(was_killed)
        await redis.xadd(stream, {"v": "next"})
        await eventually(lambda: _has(database, trig.organization_id, 2))

        async def drained() -> bool:
            return await _pending(redis, stream) == 0

        await eventually(drained)
    rows = await inputs(database, trig.organization_id)
    assert [row["fields"]["v"] for row in rows] == ["once", "next"]
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert state.events_total == 2


async def test_bad_entries_go_to_the_dead_stream_and_are_counted(
    database: Database, settings: Settings, make_launch: MakeLaunch, redis: Redis, stream: str
) -> None:
    schema = {"type": "object", "properties": {"fields": {"required": ["order"]}}}
    trig = await event_trigger(
        database,
        settings,
        "redis_stream",
        "redis",
        CONNECTION,
        {"stream": stream},
        input_schema=schema,
    )
    bad = await redis.xadd(stream, {"nope": "1"})
    await redis.xadd(stream, {"order": "7"})
    async with running(make_launch()):
        await eventually(lambda: _has(database, trig.organization_id, 1))

        async def dead() -> bool:
            return await redis.xlen(f"{stream}:dead") == 1

        await eventually(dead)
    entries: list[tuple[str, dict[str, str]]] = await redis.xrange(f"{stream}:dead")  # type: ignore[assignment]
    [(_, fields)] = entries
    assert fields["nope"] == "1"
    assert fields["_id"] == bad
    assert "refused the input" in fields["_reason"]
    assert await _pending(redis, stream) == 0
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert state.rejected_total == 1
    assert state.events_total == 1


async def test_a_full_flow_stops_reading_until_it_has_room(
    database: Database, settings: Settings, make_launch: MakeLaunch, redis: Redis, stream: str
) -> None:
    trig = await event_trigger(
        database,
        settings,
        "redis_stream",
        "redis",
        CONNECTION,
        {"stream": stream},
        max_concurrent=1,
    )
    for n in range(3):
        await redis.xadd(stream, {"n": str(n)})
    launch = make_launch()
    async with running(launch):
        await eventually(lambda: _has(database, trig.organization_id, 1))
        waits = launch.consumers.full_waits

        async def waited() -> bool:
            return launch.consumers.full_waits >= waits + 3

        await eventually(waited)
        assert await count_executions(database, trig.organization_id) == 1
        groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
        # Two entries were never read: they wait in Redis, not in Launch.
        assert groups[0]["lag"] == 2
        assert await end_all(database, trig.organization_id) == 1
        await eventually(lambda: _has(database, trig.organization_id, 2))
        assert await end_all(database, trig.organization_id) == 1
        await eventually(lambda: _has(database, trig.organization_id, 3))
    rows = await inputs(database, trig.organization_id)
    assert [row["fields"]["n"] for row in rows] == ["0", "1", "2"]
