"""Helpers for the event triggers' tests: a flow, a connection and a trigger of one type, a
LaunchService running in the background, and bounded waits on conditions."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flomation.config import Settings
from flomation.connections import service as connections
from flomation.db.session import Database
from flomation.launch.service import LaunchService
from flomation.secrets.crypto import Keyring
from tests.factories import make_actor
from tests.factories import make_flow as make_flow_with_limit
from tests.triggers.factories import executions_of, make_trigger, open_definition

_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    """A broker name no other test (nor xdist worker) uses."""
    return f"{prefix}-{os.getpid()}-{next(_numbers)}-{os.urandom(3).hex()}"


@dataclass(frozen=True)
class EventTrigger:
    organization_id: str
    flow_id: str
    trigger_id: str


async def event_trigger(
    database: Database,
    settings: Settings,
    trigger_type: str,
    connection_type: str,
    connection_values: dict[str, Any],
    config: dict[str, Any],
    *,
    max_concurrent: int | None = None,
    input_schema: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> EventTrigger:
    actor = await make_actor(database)
    start = {"input_schema": input_schema} if input_schema else {}
    flow_id = await make_flow_with_limit(
        database,
        actor.organization_id,
        definition=open_definition(**start),
        max_concurrent=max_concurrent,
    )
    async with database.transaction() as session:
        await connections.put_connection(
            session,
            organization_id=actor.organization_id,
            name="BROKER",
            type_name=connection_type,
            values=connection_values,
            keyring=Keyring.from_settings(settings),
        )
    trigger = await make_trigger(
        database,
        actor.organization_id,
        flow_id,
        trigger_type,
        {"connection": "BROKER", **config},
        now=now,
    )
    return EventTrigger(actor.organization_id, flow_id, trigger.id)


@asynccontextmanager
async def running(launch: LaunchService) -> AsyncIterator[LaunchService]:
    stop = asyncio.Event()
    task = asyncio.create_task(launch.run(stop))
    try:
        yield launch
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout_s: float = 20.0, what: str = "condition"
) -> None:
    """Wait until `check` holds, looking every 50 ms, for at most `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.05)


async def inputs(database: Database, organization_id: str) -> list[Any]:
    return [row.input for row in await executions_of(database, organization_id)]


async def count_executions(database: Database, organization_id: str) -> int:
    return len(await executions_of(database, organization_id))
