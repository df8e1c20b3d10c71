"""Recovery attempts: an execution that maintenance fails as "runner lost" and whose flow has
an `on_error` node is requeued once to run only that branch (the flow format's rule 6 for a
failure no runner could report), then ends failed with the runner_lost error; the claim
carries the error, the lost runners stay fenced off, a lost recovery attempt gets no
successor, and the organisation's error flow starts once. On SQLite and PostgreSQL; leases
expire on the database's clock, never by sleeping."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from flomation.config import Settings
from flomation.db.clock import db_now_plus
from flomation.db.session import Database
from flomation.executions import actions as execution_actions
from flomation.executions.errors import StaleAttempt
from flomation.executions.maintenance import RUNNER_LOST_MESSAGE, Maintenance
from flomation.executions.schemas import ClaimedExecution
from flomation.models.executions import Execution
from flomation.protocol import ExecutionStatus
from flomation.runners.protocol import claimed_execution
from tests.executions.factories import claim, complete, get, make_error_flow, request
from tests.executions.test_runner_losses import _runner_dies
from tests.factories import make_actor, make_flow

ON_ERROR_FLOW = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "work", "type": "delay", "config": {"seconds": 60}},
        {"id": "oe", "type": "on_error"},
        {"id": "handled", "type": "return", "config": {"value": {"why": "{{ error.message }}"}}},
    ],
    "edges": [{"from": "start", "to": "work"}, {"from": "oe", "to": "handled"}],
}


def runner_lost(attempt: int) -> dict[str, Any]:
    return {
        "node_id": None,
        "type": "runner_lost",
        "message": RUNNER_LOST_MESSAGE,
        "attempt": attempt,
    }


async def _lose_twice(
    database: Database, maintenance: Maintenance, organization_id: str
) -> list[ClaimedExecution]:
    """Attempts 1 and 2 each lose their runner (the second loss requeues the recovery
    attempt); returns their claims."""
    lost = []
    for runner_id in ("runner-a", "runner-b"):
        [held] = await claim(database, organization_id, runner_id)
        lost.append(held)
        await _runner_dies(database, held.id)
        report = await maintenance.run_once()
        assert report.error_flows == 0
    return lost


async def test_the_second_loss_requeues_a_recovery_attempt_that_ends_failed_with_its_output(
    database: Database, settings: Settings
) -> None:
    settings = settings.model_copy(update={"max_attempts": 5})
    maintenance = Maintenance(database, settings)
    actor = await make_actor(database)
    org = actor.organization_id
    handler = await make_error_flow(database, org)
    flow_id = await make_flow(database, org, definition=ON_ERROR_FLOW)
    requested = await request(database, org, flow_id, input={})

    [held] = await claim(database, org, "runner-a")
    await _runner_dies(database, held.id)
    report = await maintenance.run_once()
    assert (report.requeued, report.recoveries, report.runner_lost) == (1, 0, 0)
    [second] = await claim(database, org, "runner-b")
    assert second.recovery_error is None
    await _runner_dies(database, second.id)
    report = await maintenance.run_once()
    assert (report.requeued, report.recoveries, report.runner_lost) == (0, 1, 0)
    assert report.error_flows == 0

    waiting = await get(database, org, requested.id)
    assert (waiting.status, waiting.error) == ("queued", None)

    # The recovery attempt is an ordinary claim: a new attempt carrying the error.
    [recovery] = await claim(database, org, "runner-c")
    assert (recovery.id, recovery.attempt) == (requested.id, 3)
    assert recovery.recovery_error == runner_lost(2)
    assert claimed_execution(recovery).recovery_error == runner_lost(2)
    assert (await maintenance.run_once()).error_flows == 0

    # The lost runners coming back are refused, as ever.
    for late, runner_id in ((held, "runner-a"), (second, "runner-b")):
        with pytest.raises(StaleAttempt):
            await complete(database, late, runner_id, output={"late": True})

    await complete(
        database,
        recovery,
        "runner-c",
        status=ExecutionStatus.FAILED,
        output={"why": RUNNER_LOST_MESSAGE},
        error=runner_lost(2),
    )
    done = await get(database, org, requested.id)
    assert (done.status, done.attempt) == ("failed", 3)
    assert done.output == {"why": RUNNER_LOST_MESSAGE}
    assert done.error == runner_lost(2)

    # The organisation's error flow starts once, now that it has ended.
    assert (await maintenance.run_once()).error_flows == 1
    assert (await maintenance.run_once()).error_flows == 0
    started = await claim(database, org, "runner-d")
    assert [(c.flow_id, c.trigger) for c in started] == [
        (handler, {"type": "error_flow", "execution_id": requested.id})
    ]
    assert started[0].input["error"] == runner_lost(2)


@pytest.mark.parametrize("how", ["lost", "cancelled", "overdue"])
async def test_a_recovery_attempt_that_does_not_report_ends_failed_with_no_further_attempt(
    database: Database, settings: Settings, how: str
) -> None:
    settings = settings.model_copy(update={"max_attempts": 5})
    maintenance = Maintenance(database, settings)
    actor = await make_actor(database)
    org = actor.organization_id
    handler = await make_error_flow(database, org)
    flow_id = await make_flow(database, org, definition=ON_ERROR_FLOW)
    requested = await request(database, org, flow_id, input={})
    await _lose_twice(database, maintenance, org)
    [recovery] = await claim(database, org, "runner-c")
    assert recovery.recovery_error == runner_lost(2)

    if how == "cancelled":
        async with database.transaction() as session:
            await execution_actions.cancel_execution(
                session, organization_id=org, execution_id=recovery.id
            )
    elif how == "overdue":
        await _past_deadline(database, recovery.id)
    await _runner_dies(database, recovery.id)
    report = await maintenance.run_once()
    assert (report.requeued, report.recoveries, report.runner_lost) == (0, 0, 1)
    assert (report.cancelled, report.timed_out) == (0, 0)
    assert report.error_flows == 1

    done = await get(database, org, requested.id)
    assert (done.status, done.attempt, done.output) == ("failed", 3, None)
    assert done.error == runner_lost(2)
    # Only the error flow is left to claim: no fourth attempt.
    assert [c.flow_id for c in await claim(database, org, "runner-d")] == [handler]
    assert await claim(database, org, "runner-e") == []
    assert (await maintenance.run_once()).error_flows == 0


async def _past_deadline(database: Database, execution_id: str) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(Execution)
            .where(Execution.id == execution_id)
            .values(deadline_at=db_now_plus(-1.0))
        )


async def test_attempts_used_up_by_losses_still_get_their_recovery_attempt(
    database: Database, settings: Settings
) -> None:
    settings = settings.model_copy(update={"max_attempts": 1})
    maintenance = Maintenance(database, settings)
    actor = await make_actor(database)
    org = actor.organization_id
    flow_id = await make_flow(database, org, definition=ON_ERROR_FLOW)
    requested = await request(database, org, flow_id, input={})
    [held] = await claim(database, org, "runner-a")
    await _runner_dies(database, held.id)
    report = await maintenance.run_once()
    assert (report.requeued, report.recoveries, report.runner_lost) == (0, 1, 0)
    [recovery] = await claim(database, org, "runner-b")
    assert (recovery.attempt, recovery.recovery_error) == (2, runner_lost(1))
    await _runner_dies(database, recovery.id)
    assert (await maintenance.run_once()).runner_lost == 1
    assert (await get(database, org, requested.id)).error == runner_lost(1)


async def test_cancelling_an_execution_waiting_for_its_recovery_attempt_ends_it_failed(
    database: Database, settings: Settings
) -> None:
    maintenance = Maintenance(database, settings.model_copy(update={"max_attempts": 5}))
    actor = await make_actor(database)
    org = actor.organization_id
    await make_error_flow(database, org)
    flow_id = await make_flow(database, org, definition=ON_ERROR_FLOW)
    requested = await request(database, org, flow_id, input={})
    await _lose_twice(database, maintenance, org)
    async with database.transaction() as session:
        answer = await execution_actions.cancel_execution(
            session, organization_id=org, execution_id=requested.id
        )
    assert answer.status == "failed"
    done = await get(database, org, requested.id)
    assert (done.status, done.error) == ("failed", runner_lost(2))
    assert (await maintenance.run_once()).error_flows == 1


async def test_without_on_error_the_second_loss_fails_at_once_and_the_error_flow_starts_once(
    database: Database, settings: Settings
) -> None:
    maintenance = Maintenance(database, settings.model_copy(update={"max_attempts": 5}))
    actor = await make_actor(database)
    org = actor.organization_id
    await make_error_flow(database, org)
    flow_id = await make_flow(database, org)
    requested = await request(database, org, flow_id)
    [held] = await claim(database, org, "runner-a")
    await _runner_dies(database, held.id)
    await maintenance.run_once()
    [held] = await claim(database, org, "runner-b")
    await _runner_dies(database, held.id)
    report = await maintenance.run_once()
    assert (report.recoveries, report.runner_lost, report.error_flows) == (0, 1, 1)
    done = await get(database, org, requested.id)
    assert (done.status, done.error) == ("failed", runner_lost(2))
    assert (await maintenance.run_once()).error_flows == 0
