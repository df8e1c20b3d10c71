"""PostgreSQL LISTEN/NOTIFY event triggers against the real PostgreSQL: notifications start
executions with their payload (JSON parsed, text kept); one the flow refuses is counted with
its reason."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

from flomation.config import Settings
from flomation.db.session import Database
from tests.launch.conftest import MakeLaunch
from tests.launch.events import count_executions, event_trigger, eventually, inputs, running, unique
from tests.triggers.factories import get_trigger

CONNECTION = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}


async def _notify(channel: str, payload: str) -> None:
    connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        await connection.execute("SELECT pg_notify($1, $2)", channel, payload)
    finally:
        await connection.close()


async def _listening(database: Database, organization_id: str, trigger_id: str) -> bool:
    return bool((await get_trigger(database, organization_id, trigger_id)).state.healthy)


async def test_notifications_start_executions_and_refusals_are_counted(
    database: Database, settings: Settings, make_launch: MakeLaunch
) -> None:
    channel = unique("flomation_chan")[:60]
    schema = {"type": "object", "properties": {"payload": {"not": {"const": "refused"}}}}
    trig = await event_trigger(
        database,
        settings,
        "postgres_notify",
        "postgres",
        CONNECTION,
        {"channel": channel},
        input_schema=schema,
    )
    async with running(make_launch()):
        await eventually(lambda: _listening(database, trig.organization_id, trig.trigger_id))
        await _notify(channel, '{"order": 1}')
        await _notify(channel, "plain text")
        await _notify(channel, "refused")

        async def counted() -> bool:
            state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
            return state.events_total == 2 and state.rejected_total == 1

        await eventually(counted)
    assert await count_executions(database, trig.organization_id) == 2
    assert await inputs(database, trig.organization_id) == [
        {"channel": channel, "payload": {"order": 1}},
        {"channel": channel, "payload": "plain text"},
    ]
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert state.last_error is not None
    assert "refused the input" in state.last_error
