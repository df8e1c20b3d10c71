"""Queue maintenance and lost runners: the second runner lost while holding an execution fails
it (a poison pill is not handed to runner after runner), with the error handling of any other
failure and the fencing intact. On SQLite and PostgreSQL; leases expire by moving them into
the past on the database's clock, never by sleeping."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from flomation.config import Settings
from flomation.db.clock import db_now_plus
from flomation.db.session import Database
from flomation.executions import service
from flomation.executions.errors import StaleAttempt
from flomation.executions.maintenance import RUNNER_LOST_MESSAGE, Maintenance
from flomation.models.executions import Execution, QueueEntry
from tests.executions.factories import claim, complete, get, make_error_flow, request
from tests.factories import make_actor, make_flow


async def _runner_dies(database: Database, execution_id: str) -> None:
    """Its runner stops renewing: the lease ran out a second ago, on the database's clock."""
    async with database.transaction() as session:
        await session.execute(
            update(QueueEntry)
            .where(QueueEntry.execution_id == execution_id)
            .values(lease_expires_at=db_now_plus(-1.0))
        )


async def _losses(database: Database, execution_id: str) -> int:
    async with database.transaction() as session:
        value = await session.scalar(
            select(Execution.runner_losses).where(Execution.id == execution_id)
        )
    return int(value or 0)


async def test_second_runner_lost_fails_the_execution_instead_of_a_third_runner(
    database: Database, settings: Settings
) -> None:
    # Attempts alone would allow a third runner: the losses decide.
    settings = settings.model_copy(update={"max_attempts": 5})
    maintenance = Maintenance(database, settings)
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)

    first = (await claim(database, actor.organization_id, "runner-a"))[0]
    await _runner_dies(database, first.id)
    report = await maintenance.run_once()
    assert (report.requeued, report.runner_lost) == (1, 0)
    assert await _losses(database, requested.id) == 1

    second = (await claim(database, actor.organization_id, "runner-b"))[0]
    assert second.attempt == 2
    await _runner_dies(database, second.id)
    report = await maintenance.run_once()
    assert (report.requeued, report.runner_lost) == (0, 1)

    lost = await get(database, actor.organization_id, requested.id)
    assert lost.status == "failed"
    assert lost.error == {
        "node_id": None,
        "type": "runner_lost",
        "message": RUNNER_LOST_MESSAGE,
        "attempt": 2,
    }
    assert RUNNER_LOST_MESSAGE == "runner lost while running this execution"
    assert await _losses(database, requested.id) == 2
    assert await claim(database, actor.organization_id, "runner-c") == []


async def test_a_release_at_shutdown_is_not_a_lost_runner(
    database: Database, settings: Settings
) -> None:
    settings = settings.model_copy(update={"max_attempts": 10})
    maintenance = Maintenance(database, settings)
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)

    held = (await claim(database, actor.organization_id, "runner-a"))[0]
    async with database.transaction() as session:
        await service.release_executions(session, runner_id="runner-a", ids=[held.id])
    held = (await claim(database, actor.organization_id, "runner-b"))[0]
    await _runner_dies(database, held.id)
    assert (await maintenance.run_once()).requeued == 1
    assert await _losses(database, requested.id) == 1

    # Two hand-backs and one loss: still one loss, so a runner gets it again.
    held = (await claim(database, actor.organization_id, "runner-c"))[0]
    assert held.attempt == 3
    await _runner_dies(database, held.id)
    assert (await maintenance.run_once()).runner_lost == 1
    assert (await get(database, actor.organization_id, requested.id)).status == "failed"


async def test_a_cancelled_or_overdue_execution_whose_lease_ran_out_is_no_runner_loss(
    database: Database, settings: Settings
) -> None:
    maintenance = Maintenance(database, settings)
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)
    held = (await claim(database, actor.organization_id, "runner-a"))[0]
    async with database.transaction() as session:
        await service.cancel_execution(
            session, organization_id=actor.organization_id, execution_id=held.id
        )
    await _runner_dies(database, held.id)
    report = await maintenance.run_once()
    assert (report.cancelled, report.runner_lost) == (1, 0)
    assert await _losses(database, requested.id) == 0


async def test_runner_lost_failure_starts_the_error_flow_and_late_results_are_refused(
    database: Database, settings: Settings
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    handler = await make_error_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)
    maintenance = Maintenance(database, settings)

    first = (await claim(database, actor.organization_id, "runner-a"))[0]
    await _runner_dies(database, first.id)
    await maintenance.run_once()
    second = (await claim(database, actor.organization_id, "runner-b"))[0]
    await _runner_dies(database, second.id)
    report = await maintenance.run_once()
    assert (report.runner_lost, report.error_flows) == (1, 1)

    # The organisation's error flow gets it like any failure, once.
    started = await claim(database, actor.organization_id, "runner-c")
    assert [c.flow_id for c in started] == [handler]
    assert started[0].trigger == {"type": "error_flow", "execution_id": requested.id}
    assert started[0].input["error"]["message"] == RUNNER_LOST_MESSAGE
    assert started[0].input["status"] == "failed"
    assert (await maintenance.run_once()).error_flows == 0

    # Either lost runner coming back with results is refused; nothing changes.
    for late, runner_id in ((first, "runner-a"), (second, "runner-b")):
        with pytest.raises(StaleAttempt):
            await complete(database, late, runner_id, output={"late": True})
    view = await get(database, actor.organization_id, requested.id)
    assert (view.status, view.output) == ("failed", None)
