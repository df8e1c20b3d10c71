"""More of the claim's statements and results, on SQLite and PostgreSQL: several executions
cost no more statements than one, the `execution` event is the started execution, a claim
wakes every watcher (also through LISTEN), a rolled-back claim leases and notifies nothing,
and limited flows' work keeps its order and limits beside unlimited work."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
from sqlalchemy import select

from flomation.config import decode_key
from flomation.db.session import Database
from flomation.executions import service
from flomation.executions.notifier import CHANNEL, HUB, execution_topic, notify_payload
from flomation.models.executions import ExecutionEvent
from flomation.secrets import service as secrets_service
from flomation.secrets.crypto import Keyring
from tests.conftest import TEST_SECRET_KEY
from tests.executions.factories import claim, get, request
from tests.factories import echo_definition, make_actor, make_flow
from tests.statements import recorded_statements

LONG_S = 30.0


def _reading(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if s.startswith("SELECT") and f"FROM {table}" in s]


def _keyring() -> Keyring:
    return Keyring(decode_key(TEST_SECRET_KEY, "test key"))


async def _claim(database: Database, organization_id: str, limit: int) -> list[Any]:
    async with database.transaction() as session:
        return await service.claim_executions(
            session,
            organization_id=organization_id,
            runner_id="runner-1",
            labels={},
            limit=limit,
            lease_seconds=30,
            keyring=_keyring(),
        )


async def test_a_claim_of_one_revision_reads_its_variables_and_secrets_once(
    database: Database,
) -> None:
    actor = await make_actor(database)
    org = actor.organization_id
    async with database.transaction() as session:
        await secrets_service.put_secret(
            session, organization_id=org, name="TOKEN", value="s3cret", keyring=_keyring()
        )
        await secrets_service.put_variable(session, organization_id=org, name="region", value="eu")
    definition = echo_definition()
    definition["nodes"][1]["config"]["values"]["auth"] = "{{ secrets.TOKEN }} {{ vars.region }}"
    flow_id = await make_flow(database, org, definition=definition)
    requested = [(await request(database, org, flow_id)).id for _ in range(3)]

    with recorded_statements(database) as statements:
        claimed = await _claim(database, org, limit=5)

    assert [c.id for c in claimed] == requested
    assert all(c.secrets == {"TOKEN": "s3cret"} for c in claimed)
    assert all(c.variables == {"region": "eu"} for c in claimed)
    assert len(_reading(statements, "secrets")) == 1
    assert len(_reading(statements, "variables")) == 1
    assert len(_reading(statements, "flows")) <= 1  # not at all once this process knows it


async def test_a_claim_of_a_flow_referencing_nothing_reads_no_variables_nor_secrets(
    database: Database,
) -> None:
    actor = await make_actor(database)
    org = actor.organization_id
    flow_id = await make_flow(database, org)
    await request(database, org, flow_id)
    await request(database, org, flow_id)
    await _claim(database, org, limit=1)  # this process now knows the revision

    with recorded_statements(database) as statements:
        [claimed] = await _claim(database, org, limit=1)

    assert (claimed.variables, claimed.secrets) == ({}, {})
    assert claimed.definition["nodes"][0]["id"] == "start"
    assert _reading(statements, "variables") == _reading(statements, "secrets") == []
    assert _reading(statements, "flows") == []
    writes = [s.split()[0] for s in statements if s != "BEGIN IMMEDIATE"]
    if database.is_postgres:
        # Lease and start (no flow with a limit has work); the `execution` events and wake-ups.
        assert writes == ["WITH", "WITH"]
    else:
        # The atomic lease of the queue rows; their executions started; the events.
        assert writes == ["UPDATE", "UPDATE", "INSERT"]


async def test_a_claim_of_several_executions_costs_no_more_statements_than_one(
    database: Database,
) -> None:
    actor = await make_actor(database)
    org = actor.organization_id
    flow_id = await make_flow(database, org)
    for _ in range(5):
        await request(database, org, flow_id)
    await _claim(database, org, limit=1)

    with recorded_statements(database) as one:
        await _claim(database, org, limit=1)
    with recorded_statements(database) as three:
        assert len(await _claim(database, org, limit=3)) == 3

    assert len(three) == len(one)


async def test_the_execution_event_of_a_claim_is_the_started_execution(
    database: Database,
) -> None:
    actor = await make_actor(database)
    org = actor.organization_id
    flow_id = await make_flow(database, org, definition=echo_definition(timeout_s=60))
    requested = await request(database, org, flow_id)

    [claimed] = await claim(database, org)

    view = await get(database, org, requested.id)
    async with database.transaction() as session:
        last = (
            await session.scalars(
                select(ExecutionEvent)
                .where(ExecutionEvent.execution_id == requested.id)
                .order_by(ExecutionEvent.seq.desc())
                .limit(1)
            )
        ).one()
    assert last.type == "execution"
    assert last.payload["status"] == "running"
    expected = view.model_dump(mode="json", exclude={"steps", "logs"})
    assert last.payload == {k: v for k, v in expected.items() if k in last.payload}
    assert claimed.attempt == view.attempt == 1
    assert claimed.deadline_at == view.deadline_at is not None


async def test_a_claim_wakes_the_watchers_of_each_claimed_execution(
    database: Database, database_url: str
) -> None:
    actor = await make_actor(database)
    org = actor.organization_id
    flow_id = await make_flow(database, org)
    ids = [(await request(database, org, flow_id)).id for _ in range(2)]
    heard: list[str] = []
    listener = None
    if database.is_postgres:
        # Another API process's watchers hear of it through LISTEN.
        listener = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
    try:
        with HUB.subscribe([execution_topic(i) for i in ids]) as subscription:
            assert len(await claim(database, org, limit=2)) == 2
            assert await subscription.wait(LONG_S) is True
        if listener is not None:
            for _ in range(100):
                if len(heard) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert {notify_payload(execution_topic(i)) for i in ids} <= set(heard)
    finally:
        if listener is not None:
            await listener.close()


async def _abandoned_claim(database: Database, organization_id: str) -> None:
    async with database.transaction() as session:
        await service.claim_executions(
            session,
            organization_id=organization_id,
            runner_id="runner-1",
            labels={},
            limit=1,
            lease_seconds=30,
        )
        raise RuntimeError("abandon the claim")


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_rolled_back_claim_leases_nothing_and_notifies_nothing(
    database: Database, database_url: str
) -> None:
    actor = await make_actor(database)
    org = actor.organization_id
    flow_id = await make_flow(database, org)
    requested = await request(database, org, flow_id)
    heard: list[str] = []
    listener = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
    try:
        with pytest.raises(RuntimeError):
            await _abandoned_claim(database, org)
        await asyncio.sleep(0.2)
        assert notify_payload(execution_topic(requested.id)) not in heard
        assert (await get(database, org, requested.id)).status == "queued"
        assert [c.id for c in await claim(database, org)] == [requested.id]
    finally:
        await listener.close()


async def test_work_of_a_limited_flow_is_claimed_oldest_first_within_its_limit(
    database: Database,
) -> None:
    actor = await make_actor(database)
    org = actor.organization_id
    limited = await make_flow(database, org, max_concurrent=1, name="limited")
    free = await make_flow(database, org, name="free")
    first_free = (await request(database, org, free)).id
    first_limited = (await request(database, org, limited)).id
    await request(database, org, limited)  # over the limit: stays queued
    second_free = (await request(database, org, free)).id

    claimed = await claim(database, org, limit=10)

    assert [c.id for c in claimed] == [first_free, first_limited, second_free]
    assert await claim(database, org, limit=10) == []
