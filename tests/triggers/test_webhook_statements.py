"""What one sync webhook call costs the database, on SQLite and PostgreSQL: the hook's
look-up and the execution's request (its rows in one statement on PostgreSQL), no savepoint.
(Its reads of the execution, one per change, are counted in test_webhook_wakeup.)"""

from __future__ import annotations

import asyncio

from flomation.db.session import Database
from tests.factories import Actor
from tests.live import LiveServer
from tests.statements import recorded_statements
from tests.triggers.factories import end_all, make_flow, make_trigger
from tests.triggers.test_webhook_wakeup import LONG_S, _waiting_execution


async def test_a_sync_webhook_call_costs_a_look_up_and_an_insert(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    config = {"path": "count", "respond": "sync", "sync_timeout_s": LONG_S}
    await make_trigger(database, owner.organization_id, flow_id, "webhook", config)
    async with api.client() as client:
        # A first call warms the caches (the flow's current revision, the online runners).
        first = asyncio.create_task(client.post("/hooks/count", json={}))
        await asyncio.wait_for(_waiting_execution(database, owner), LONG_S)
        await end_all(database, owner.organization_id)
        assert (await first).status_code == 200
        with recorded_statements(database) as statements:
            call = asyncio.create_task(client.post("/hooks/count", json={}))
            while not await end_all(database, owner.organization_id):
                await asyncio.sleep(0.01)
            answer = await asyncio.wait_for(call, LONG_S)
    assert answer.status_code == 200
    assert len([s for s in statements if s.startswith("SELECT triggers.")]) == 1
    assert len([s for s in statements if "INSERT INTO executions " in s]) == 1
    assert not [s for s in statements if "SAVEPOINT" in s]
