"""AMQP event triggers against the real RabbitMQ: messages start executions with the right
input and are acknowledged after the commit; a redelivery starts no second execution; a bad
message goes to the queue's dead letter and is counted; the consumer follows the lease; a
full flow stops the consumer taking messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from sqlalchemy import func, select, update

from flomation.config import Settings
from flomation.db.clock import db_now_plus
from flomation.db.session import Database
from flomation.launch.consumers import Consumers, Message, Subscription
from flomation.models.triggers import LaunchInstance, Trigger
from flomation.triggers.schemas import EventResult
from tests.launch.conftest import MakeLaunch
from tests.launch.events import (
    count_executions,
    event_trigger,
    eventually,
    inputs,
    running,
    unique,
)
from tests.triggers.factories import end_all, get_trigger, trigger_rows

URL = "amqp://guest:guest@127.0.0.1:5672/"
CONNECTION = {"url": "amqp://guest@127.0.0.1:5672/", "password": "guest"}


@pytest.fixture
async def channel() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(URL)
    async with connection:
        yield await connection.channel()


async def _queues(channel: aio_pika.abc.AbstractChannel) -> tuple[str, str]:
    """A queue whose rejected messages go to its own dead-letter queue."""
    name = unique("flomation-evt")
    dead = f"{name}.dead"
    await channel.declare_queue(dead, auto_delete=False, arguments={"x-expires": 120_000})
    await channel.declare_queue(
        name,
        arguments={
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dead,
            "x-expires": 120_000,
        },
    )
    return name, dead


async def _publish(
    channel: aio_pika.abc.AbstractChannel,
    queue: str,
    body: bytes,
    message_id: str | None,
    **kw: Any,
) -> None:
    await channel.default_exchange.publish(
        aio_pika.Message(body, message_id=message_id, **kw), routing_key=queue
    )


async def _ready(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    declared = await channel.declare_queue(queue, passive=True)
    return int(declared.declaration_result.message_count or 0)


async def test_messages_start_executions_with_their_input(
    database: Database, settings: Settings, make_launch: MakeLaunch, channel: Any
) -> None:
    queue, _ = await _queues(channel)
    trig = await event_trigger(
        database, settings, "amqp", "amqp", CONNECTION, {"queue": queue, "prefetch": 5}
    )
    async with running(make_launch()):
        for n in range(3):
            await _publish(
                channel,
                queue,
                b'{"n": %d}' % n,
                f"m{n}",
                headers={"h": "v"},
                content_type="application/json",
            )
        await eventually(lambda: _has(database, trig.organization_id, 3))
        await eventually(lambda: _ready_is(channel, queue, 0))
        state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    got = sorted(await inputs(database, trig.organization_id), key=lambda i: i["message_id"])
    assert got == [
        {
            "body": {"n": n},
            "headers": {"h": "v"},
            "routing_key": queue,
            "exchange": "",
            "message_id": f"m{n}",
        }
        for n in range(3)
    ]
    assert state.healthy is True
    assert state.events_total == 3
    assert state.rejected_total == 0
    assert state.last_event_at is not None


async def test_a_redelivered_message_starts_no_second_execution(
    database: Database,
    settings: Settings,
    make_launch: MakeLaunch,
    channel: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue, _ = await _queues(channel)
    trig = await event_trigger(database, settings, "amqp", "amqp", CONNECTION, {"queue": queue})
    killed: list[str] = []
    acknowledge = Consumers.acknowledge

    async def killed_before_ack(
        self: Consumers, subscription: Subscription, message: Message, result: EventResult
    ) -> None:
        if not killed:
            # The commit happened; the consumer dies before the broker hears of it.
            killed.append(str(result.execution_id))
            raise asyncio.CancelledError
        await acknowledge(self, subscription, message, result)

    monkeypatch.setattr(Consumers, "acknowledge", killed_before_ack)
    async with running(make_launch()):
        await _publish(channel, queue, b'"once"', "the-one")

        async def was_killed() -> bool:
            return bool(killed)

        await eventually(was_killed)
        # The broker redelivers it to the restarted consumer, which acknowledges it; then
        # the next message.
        await _publish(channel, queue, b'"next"', "the-next")
        await eventually(lambda: _has(database, trig.organization_id, 2))
    # Everything was acknowledged: nothing went back to the queue when Launch stopped.
    assert await _ready(channel, queue) == 0
    rows = await inputs(database, trig.organization_id)
    assert [row["body"] for row in rows] == ["once", "next"]
    assert len(killed) == 1
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert state.events_total == 2


async def test_bad_messages_go_to_the_dead_letter_and_are_counted(
    database: Database, settings: Settings, make_launch: MakeLaunch, channel: Any
) -> None:
    queue, dead = await _queues(channel)
    schema = {
        "type": "object",
        "properties": {"body": {"type": "object", "required": ["order"]}},
    }
    trig = await event_trigger(
        database, settings, "amqp", "amqp", CONNECTION, {"queue": queue}, input_schema=schema
    )
    async with running(make_launch()):
        await _publish(channel, queue, b'{"nope": 1}', "bad-schema")
        await _publish(channel, queue, b"\xff\xfe", "not-text")
        await _publish(channel, queue, b'{"order": 7}', "good")
        await eventually(lambda: _ready_is(channel, dead, 2))
        await eventually(lambda: _has(database, trig.organization_id, 1))
        state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert [row["body"] for row in await inputs(database, trig.organization_id)] == [{"order": 7}]
    assert state.rejected_total == 2
    assert state.events_total == 1
    assert state.last_error is not None


async def test_the_consumer_follows_the_lease_and_never_doubles(
    database: Database, settings: Settings, make_launch: MakeLaunch, channel: Any
) -> None:
    queue, _ = await _queues(channel)
    trig = await event_trigger(database, settings, "amqp", "amqp", CONNECTION, {"queue": queue})
    first, second = make_launch(), make_launch()
    first_stop = asyncio.Event()
    first_task = asyncio.create_task(first.run(first_stop))
    await eventually(lambda: _owner_is(database, trig.trigger_id, first.owner))
    for n in range(5):
        await _publish(channel, queue, b"%d" % n, f"a{n}")
    async with running(second):
        await eventually(lambda: _instances(database, 2))
        for n in range(5, 10):
            await _publish(channel, queue, b"%d" % n, f"a{n}")
        # Both run, one consumes: the holder of the lease.
        assert not second.consumers.running
        first_stop.set()
        await first_task
        # `first` stopped its consumer (what it held unacknowledged went back to the
        # queue) and released its lease: `second` takes the trigger and its consumer.
        await eventually(lambda: _owner_is(database, trig.trigger_id, second.owner))
        for n in range(10, 15):
            await _publish(channel, queue, b"%d" % n, f"a{n}")
        await eventually(lambda: _has(database, trig.organization_id, 15))
        await eventually(lambda: _ready_is(channel, queue, 0))
    bodies = sorted(row["body"] for row in await inputs(database, trig.organization_id))
    assert bodies == list(range(15))


async def test_a_consumer_whose_lease_was_taken_starts_nothing_and_stops(
    database: Database, settings: Settings, make_launch: MakeLaunch, channel: Any
) -> None:
    queue, _ = await _queues(channel)
    trig = await event_trigger(database, settings, "amqp", "amqp", CONNECTION, {"queue": queue})
    launch = make_launch()
    async with running(launch):
        await _publish(channel, queue, b"1", "before")
        await eventually(lambda: _has(database, trig.organization_id, 1))
        # Another instance took the lease (this one's expired while it was stalled).
        async with database.transaction() as session:
            await session.execute(
                update(Trigger)
                .where(Trigger.id == trig.trigger_id)
                .values(lease_owner="someone-else", lease_expires_at=db_now_plus(60))
            )
        await _publish(channel, queue, b"2", "after")

        async def stopped() -> bool:
            return not launch.consumers.running

        await eventually(stopped)
        # The message after the move started nothing and went back to the queue.
        await eventually(lambda: _ready_is(channel, queue, 1))
    assert [row["body"] for row in await inputs(database, trig.organization_id)] == [1]


async def test_a_full_flow_stops_the_consumer_until_it_has_room(
    database: Database, settings: Settings, make_launch: MakeLaunch, channel: Any
) -> None:
    queue, _ = await _queues(channel)
    trig = await event_trigger(
        database,
        settings,
        "amqp",
        "amqp",
        CONNECTION,
        {"queue": queue, "prefetch": 1},
        max_concurrent=1,
    )
    launch = make_launch()
    async with running(launch):
        for n in range(3):
            await _publish(channel, queue, b"%d" % n, f"b{n}")
        await eventually(lambda: _has(database, trig.organization_id, 1))
        waits = launch.consumers.full_waits

        async def waited() -> bool:
            return launch.consumers.full_waits >= waits + 3

        await eventually(waited)
        # Full: one execution, one message held (prefetch 1), one still ready in the queue.
        assert await count_executions(database, trig.organization_id) == 1
        assert await _ready(channel, queue) == 1
        assert await end_all(database, trig.organization_id) == 1
        await eventually(lambda: _has(database, trig.organization_id, 2))
        assert await end_all(database, trig.organization_id) == 1
        await eventually(lambda: _has(database, trig.organization_id, 3))
    assert sorted(row["body"] for row in await inputs(database, trig.organization_id)) == [0, 1, 2]


# --- helpers --------------------------------------------------------------------------------


async def _has(database: Database, organization_id: str, count: int) -> bool:
    return await count_executions(database, organization_id) >= count


async def _ready_is(channel: Any, queue: str, count: int) -> bool:
    return await _ready(channel, queue) == count


async def _instances(database: Database, count: int) -> bool:
    async with database.transaction() as session:
        found = await session.execute(select(func.count()).select_from(LaunchInstance))
        return int(found.scalar_one()) >= count


async def _owner_is(database: Database, trigger_id: str, owner: str) -> bool:
    rows = await trigger_rows(database)
    return any(row.id == trigger_id and row.lease_owner == owner for row in rows)
