"""Launch embedded in the API process (`flomation up`): it fires on the real clock while the
app runs and gives its leases back when the app stops."""

from __future__ import annotations

import asyncio

from flomation.api.app import create_app
from flomation.clock import utcnow
from flomation.config import Settings
from flomation.db.session import Database
from flomation.launch.service import lifespan_hook
from tests.factories import make_actor
from tests.live import serve
from tests.triggers.factories import executions_of, make_flow, make_trigger, trigger_rows


async def test_launch_runs_inside_the_api_lifespan(settings: Settings, database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    await make_trigger(
        database, actor.organization_id, flow_id, "schedule", {"cron": "* * * * * *"}, now=utcnow()
    )
    app = create_app(
        settings, database=database, lifespan_hooks=[lifespan_hook(settings, database)]
    )
    async with serve(app):
        for _ in range(100):
            if await executions_of(database, actor.organization_id):
                break
            await asyncio.sleep(0.1)
        [row] = await trigger_rows(database)
        assert row.lease_owner is not None
    executions = await executions_of(database, actor.organization_id)
    assert executions
    assert executions[0].trigger["type"] == "schedule"
    [row] = await trigger_rows(database)
    assert row.lease_owner is None
