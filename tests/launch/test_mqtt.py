"""MQTT event triggers against the real Mosquitto: messages start executions with their input;
a message left unacknowledged when its consumer dies is redelivered through the persistent
session and, carrying a `message_id` user property, starts no second execution; a bad message
is acknowledged and counted."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from flomation.config import Settings
from flomation.db.session import Database
from flomation.launch.consumers import Consumers, Message, Subscription
from flomation.triggers.schemas import EventResult
from tests.launch.conftest import MakeLaunch
from tests.launch.events import count_executions, event_trigger, eventually, inputs, running, unique
from tests.triggers.factories import get_trigger

CONNECTION = {"host": "127.0.0.1", "port": 1883}


async def _publish(topic: str, payload: bytes, message_id: str | None = None) -> None:
    properties = None
    if message_id is not None:
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = ("message_id", message_id)
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.publish(topic, payload, qos=1, properties=properties)


async def _listening(database: Database, trig: object) -> bool:
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state  # type: ignore[attr-defined]
    return bool(state.healthy)


async def _has(database: Database, organization_id: str, count: int) -> bool:
    return await count_executions(database, organization_id) >= count


async def test_messages_start_executions_and_bad_ones_are_counted(
    database: Database, settings: Settings, make_launch: MakeLaunch
) -> None:
    topic = unique("flomation/evt")
    schema = {"type": "object", "properties": {"payload": {"not": {"const": "refused"}}}}
    trig = await event_trigger(
        database,
        settings,
        "mqtt",
        "mqtt",
        CONNECTION,
        {"topic": f"{topic}/#"},
        input_schema=schema,
    )
    async with running(make_launch()):
        await eventually(lambda: _listening(database, trig))
        await _publish(f"{topic}/a", b'{"n": 1}', "m1")
        await _publish(f"{topic}/b", b"refused", "m2")
        await _publish(f"{topic}/c", b"\xff", "m3")
        await _publish(f"{topic}/d", b"text", "m4")

        async def counted() -> bool:
            state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
            return state.events_total == 2 and state.rejected_total == 2

        await eventually(counted)
    assert await inputs(database, trig.organization_id) == [
        {"topic": f"{topic}/a", "payload": {"n": 1}, "qos": 1, "retain": False},
        {"topic": f"{topic}/d", "payload": "text", "qos": 1, "retain": False},
    ]


async def test_an_unacknowledged_message_is_redelivered_and_not_run_twice(
    database: Database,
    settings: Settings,
    make_launch: MakeLaunch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = unique("flomation/redo")
    trig = await event_trigger(database, settings, "mqtt", "mqtt", CONNECTION, {"topic": topic})
    killed: list[str] = []
    answered: list[EventResult] = []
    acknowledge = Consumers.acknowledge

    async def killed_before_ack(
        self: Consumers, subscription: Subscription, message: Message, result: EventResult
    ) -> None:
        if not killed:
            killed.append(str(result.execution_id))
            raise asyncio.CancelledError
        answered.append(result)
        await acknowledge(self, subscription, message, result)

    monkeypatch.setattr(Consumers, "acknowledge", killed_before_ack)
    async with running(make_launch()):
        await eventually(lambda: _listening(database, trig))
        await _publish(topic, b'"once"', "the-one")

        async def was_killed() -> bool:
            return bool(killed)

        await eventually(was_killed)
        await _publish(topic, b'"next"', "the-next")
        await eventually(lambda: _has(database, trig.organization_id, 2))

        async def redelivered() -> bool:
            # The broker gave the unacknowledged message again; its key found the execution.
            return any(r.duplicate and r.execution_id == killed[0] for r in answered)

        await eventually(redelivered)
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert state.events_total == 2
    rows = await inputs(database, trig.organization_id)
    assert sorted(row["payload"] for row in rows) == ["next", "once"]
