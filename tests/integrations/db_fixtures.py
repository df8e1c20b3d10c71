"""Fixtures and helpers of the database integration tests (postgres, mysql, redis, csv): the
real servers on this machine, a scratch table / database / key prefix of its own per test, and
two ways to run a node: directly with a `NodeContext`, and through the engine in a flow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import (
    Connection,
    NodeContext,
    NodeOutcome,
)
from flomation.engine.nodes.registry import default_registry
from flomation.integrations.registry import make_connection
from tests.integrations.common import node_context, unique

PG_VALUES: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 5432,
    "user": "postgres",
    "database": "postgres",
    "ssl": "disable",
}
MYSQL_VALUES: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 3306,
    "user": "root",
    "database": "mysql",
    "ssl": "disable",
}
REDIS_URL = "redis://127.0.0.1:6379/0"
# A port on loopback where nothing listens (the discard port; nothing serves it here).
CLOSED_PORT = 9


def context(
    node_type: str,
    config: dict[str, Any],
    connections: Mapping[str, Connection] | None = None,
    deadline: float | None = None,
) -> NodeContext:
    """A context for one attempt of `node_type` with this (already rendered) config."""
    return node_context(node_type, config, connections, deadline=deadline, node_id="n")


async def run_node(
    node_type: str, config: dict[str, Any], connection: Connection | None = None
) -> NodeOutcome:
    """Runs one attempt of the registered `node_type` directly."""
    registered = default_registry().get(node_type)
    assert registered is not None, node_type
    connections = {connection.name: connection} if connection is not None else {}
    return await registered.run(context(node_type, config, connections))


@dataclass
class FlowRun:
    document: dict[str, Any]

    @property
    def step(self) -> dict[str, Any]:
        """The (last) recorded step of node `q`, as stored: masked."""
        steps = [s for s in self.document["steps"] if s["node_id"] == "q"]
        assert steps, self.document
        step: dict[str, Any] = steps[-1]
        return step


async def run_in_flow(
    node_type: str,
    config: dict[str, Any],
    connections: Mapping[str, Connection] | None = None,
    input: Any = None,
    **node_fields: Any,
) -> FlowRun:
    """Runs `start -> q` through the engine (validation, templates, masking, retries)."""
    doc = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "q", "type": node_type, "config": config, **node_fields},
        ],
        "edges": [{"from": "start", "to": "q"}],
    }
    document = await run_flow(doc, input, connections=dict(connections or {}))
    return FlowRun(document)


def pg_connection(name: str = "db", **overrides: Any) -> Connection:
    return make_connection(name, "postgres", {**PG_VALUES, **overrides})


def mysql_connection(name: str = "db", **overrides: Any) -> Connection:
    return make_connection(name, "mysql", {**MYSQL_VALUES, **overrides})


def redis_connection(name: str = "kv", **overrides: Any) -> Connection:
    return make_connection(name, "redis", {"url": REDIS_URL, **overrides})


@pytest.fixture(name="pg_table")
async def pg_table_fixture() -> AsyncIterator[str]:
    """A unique scratch table name in PostgreSQL's `postgres` database; dropped afterwards."""
    import asyncpg  # type: ignore[import-untyped]

    name = unique("flo_t")
    yield name
    connection = await asyncpg.connect(**{k: v for k, v in PG_VALUES.items() if k != "ssl"})
    try:
        await connection.execute(f"DROP TABLE IF EXISTS {name}")
    finally:
        await connection.close()


@pytest.fixture(name="mysql_database")
async def mysql_database_fixture() -> AsyncIterator[str]:
    """A unique scratch database on MariaDB (created empty); dropped afterwards."""
    import asyncmy

    name = unique("flo_db")
    connection = await asyncmy.connect(host="127.0.0.1", port=3306, user="root")
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE {name}")
        yield name
        async with connection.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    finally:
        connection.close()


@pytest.fixture(name="redis_prefix")
async def redis_prefix_fixture() -> AsyncIterator[str]:
    """A unique key prefix on Redis; its keys are deleted afterwards."""
    from redis.asyncio import Redis

    prefix = unique("flo_k") + ":"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(name="silent_port")
async def silent_port_fixture() -> AsyncIterator[int]:
    """A loopback port that accepts connections and never answers (a hung server)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()
