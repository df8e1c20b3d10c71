"""NATS JetStream event triggers against the real NATS server: messages stored after the
trigger's creation start executions with their input; a message held when its consumer dies
before the ack is redelivered and starts no second execution; a bad message is terminated and
counted; a full flow stops the consumer fetching."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest

from flomation.config import Settings
from flomation.db.session import Database
from flomation.launch.consumers import Consumers, Message, Subscription
from flomation.triggers.schemas import EventResult
from tests.launch.conftest import MakeLaunch
from tests.launch.events import count_executions, event_trigger, eventually, inputs, running, unique
from tests.triggers.factories import end_all, get_trigger

SERVER = "nats://127.0.0.1:4222"
CONNECTION = {"servers": SERVER}


@pytest.fixture
async def js() -> AsyncIterator[Any]:
    client = await nats.connect(SERVER)
    try:
        yield client.jetstream()
    finally:
        await client.close()


@pytest.fixture
async def stream(js: Any) -> AsyncIterator[str]:
    name = unique("flomation_evt").replace("-", "_")
    await js.add_stream(name=name, subjects=[f"{name}.>"])
    try:
        yield name
    finally:
        await js.delete_stream(name)


async def _trigger(database: Database, settings: Settings, stream: str, **kwargs: Any) -> Any:
    return await event_trigger(
        database,
        settings,
        "nats",
        "nats",
        CONNECTION,
        {"stream": stream, "subject": f"{stream}.>", "ack_wait_s": 30},
        **kwargs,
    )


async def _has(database: Database, organization_id: str, count: int) -> bool:
    return await count_executions(database, organization_id) >= count


async def test_messages_after_creation_start_executions(
    database: Database, settings: Settings, make_launch: MakeLaunch, js: Any, stream: str
) -> None:
    await js.publish(f"{stream}.old", b"before")  # stored before the trigger: never fires
    trig = await _trigger(database, settings, stream)
    acks = [
        await js.publish(f"{stream}.orders", b'{"n": %d}' % n, headers={"h": "v"}) for n in range(3)
    ]
    async with running(make_launch()):
        await eventually(lambda: _has(database, trig.organization_id, 3))
    got = sorted(await inputs(database, trig.organization_id), key=lambda i: i["seq"])
    assert got == [
        {"subject": f"{stream}.orders", "data": {"n": n}, "headers": {"h": "v"}, "seq": ack.seq}
        for n, ack in enumerate(acks)
    ]
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert state.events_total == 3
    assert state.healthy is True


async def test_a_redelivered_message_starts_no_second_execution(
    database: Database,
    settings: Settings,
    make_launch: MakeLaunch,
    js: Any,
    stream: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trig = await _trigger(database, settings, stream)
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
    await js.publish(f"{stream}.x", b'"once"')
    async with running(make_launch()):

        async def was_killed() -> bool:
            return bool(killed)

        await eventually(was_killed)
        await js.publish(f"{stream}.x", b'"next"')
        await eventually(lambda: _has(database, trig.organization_id, 2))

        async def all_acked() -> bool:
            info = await js.consumer_info(stream, f"flomation-{trig.trigger_id}")
            return bool(info.num_ack_pending == 0 and info.num_pending == 0)

        await eventually(all_acked)
    rows = await inputs(database, trig.organization_id)
    assert [row["data"] for row in rows] == ["once", "next"]


async def test_bad_messages_are_terminated_and_counted(
    database: Database, settings: Settings, make_launch: MakeLaunch, js: Any, stream: str
) -> None:
    schema = {"type": "object", "properties": {"data": {"type": "object", "required": ["order"]}}}
    trig = await _trigger(database, settings, stream, input_schema=schema)
    await js.publish(f"{stream}.x", b'{"nope": 1}')
    await js.publish(f"{stream}.x", b"\xff")
    await js.publish(f"{stream}.x", b'{"order": 1}')
    async with running(make_launch()):

        async def counted() -> bool:
            state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
            return state.rejected_total == 2 and state.events_total == 1

        await eventually(counted)
        info = await js.consumer_info(stream, f"flomation-{trig.trigger_id}")
        assert info.num_ack_pending == 0
    assert [row["data"] for row in await inputs(database, trig.organization_id)] == [{"order": 1}]


async def test_a_full_flow_stops_fetching(
    database: Database, settings: Settings, make_launch: MakeLaunch, js: Any, stream: str
) -> None:
    trig = await _trigger(database, settings, stream, max_concurrent=1)
    for n in range(3):
        await js.publish(f"{stream}.x", b"%d" % n)
    launch = make_launch()
    async with running(launch):
        await eventually(lambda: _has(database, trig.organization_id, 1))
        waits = launch.consumers.full_waits

        async def waited() -> bool:
            return launch.consumers.full_waits >= waits + 3

        await eventually(waited)
        assert await count_executions(database, trig.organization_id) == 1
        info = await js.consumer_info(stream, f"flomation-{trig.trigger_id}")
        assert info.num_pending == 2  # never fetched: they wait in the stream
        assert await end_all(database, trig.organization_id) == 1
        await eventually(lambda: _has(database, trig.organization_id, 2))
        assert await end_all(database, trig.organization_id) == 1
        await eventually(lambda: _has(database, trig.organization_id, 3))
    assert [row["data"] for row in await inputs(database, trig.organization_id)] == [0, 1, 2]
