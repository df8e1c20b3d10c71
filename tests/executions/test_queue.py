"""Queue semantics through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from flomation.db.session import Database
from tests.executions.factories import claim, complete, echo_definition, get, make_flow, request
from tests.factories import make_actor


async def test_requested_execution_is_claimed_once_and_completes(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)
    assert requested.status == "queued"

    claimed = await claim(database, actor.organization_id)
    assert [c.id for c in claimed] == [requested.id]
    assert claimed[0].attempt == 1
    assert claimed[0].input == {"n": 21}
    assert claimed[0].definition["nodes"][0]["id"] == "start"
    assert await claim(database, actor.organization_id, "runner-2") == []

    running = await get(database, actor.organization_id, requested.id)
    assert running.status == "running"
    assert running.runner_id == "runner-1"

    await complete(database, claimed[0], output={"m": 42})
    done = await get(database, actor.organization_id, requested.id)
    assert done.status == "succeeded"
    assert done.output == {"m": 42}
    assert done.finished_at is not None


async def test_concurrent_claimers_never_share_an_execution(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    ids = {(await request(database, actor.organization_id, flow_id)).id for _ in range(20)}

    results = await asyncio.gather(
        *(claim(database, actor.organization_id, f"runner-{i}", limit=3) for i in range(12))
    )
    claimed = [c.id for batch in results for c in batch]
    assert len(claimed) == len(set(claimed))
    assert set(claimed) == ids


async def test_labels_route_executions_to_runners_that_carry_them(database: Database) -> None:
    actor = await make_actor(database)
    onprem = await make_flow(
        database, actor.organization_id, definition=echo_definition(runs_on={"location": "onprem"})
    )
    plain = await make_flow(database, actor.organization_id)
    needs_onprem = await request(database, actor.organization_id, onprem)
    needs_gpu = await request(database, actor.organization_id, plain, runs_on={"gpu": "yes"})

    assert await claim(database, actor.organization_id, labels={"location": "cloud"}) == []
    got = await claim(database, actor.organization_id, labels={"location": "onprem", "x": "1"})
    assert [c.id for c in got] == [needs_onprem.id]
    got = await claim(database, actor.organization_id, labels={"gpu": "yes"})
    assert [c.id for c in got] == [needs_gpu.id]
