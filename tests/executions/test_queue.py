"""Queue semantics through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from flomation.clock import utcnow
from flomation.config import Settings
from flomation.db.session import Database
from flomation.errors import Conflict, ValidationFailed
from flomation.executions import actions as execution_actions
from flomation.executions import claims as execution_claims
from flomation.executions import reports as execution_reports
from flomation.executions.errors import DuplicateExecution, StaleAttempt
from flomation.executions.maintenance import Maintenance
from flomation.executions.schemas import ClaimedExecution
from flomation.models.executions import Execution, ExecutionEvent, ExecutionLog, ExecutionStep
from flomation.protocol import ExecutionStatus
from flomation.runners import service as runners_service
from flomation.runners.schemas import RunnerTokenCreate
from flomation.signing import SigningKey
from tests.conftest import ProcessClock
from tests.executions.factories import claim, complete, get, make_error_flow, request
from tests.factories import echo_definition, make_actor, make_flow


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


async def test_flow_concurrency_limit_is_respected_by_concurrent_claims(
    database: Database,
) -> None:
    actor = await make_actor(database)
    limited = await make_flow(database, actor.organization_id, max_concurrent=2, name="limited")
    free = await make_flow(database, actor.organization_id, name="free")
    for _ in range(6):
        await request(database, actor.organization_id, limited)
    free_ids = {(await request(database, actor.organization_id, free)).id for _ in range(3)}

    results = await asyncio.gather(
        *(claim(database, actor.organization_id, f"runner-{i}", limit=4) for i in range(6))
    )
    claimed = [c for batch in results for c in batch]
    assert len([c for c in claimed if c.flow_id == limited]) == 2
    assert {c.id for c in claimed if c.flow_id == free} == free_ids

    # A finished execution frees a slot for the next one.
    first = next(c for c in claimed if c.flow_id == limited)
    await complete(database, first, runner_id=_runner_of(results, first.id))
    again = await claim(database, actor.organization_id, "runner-9")
    assert [c.flow_id for c in again] == [limited]


def _runner_of(results: list[list[ClaimedExecution]], execution_id: str) -> str:
    for index, batch in enumerate(results):
        if any(c.id == execution_id for c in batch):
            return f"runner-{index}"
    raise AssertionError("not claimed")


async def test_same_dedupe_key_is_refused_and_changes_nothing(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    first = await request(database, actor.organization_id, flow_id, dedupe_key="tick-1")
    with pytest.raises(DuplicateExecution) as caught:
        await request(database, actor.organization_id, flow_id, dedupe_key="tick-1")
    assert caught.value.execution_id == first.id
    assert [c.id for c in await claim(database, actor.organization_id)] == [first.id]


async def test_input_against_start_schema_refused_with_nothing_queued(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    with pytest.raises(ValidationFailed) as caught:
        await request(database, actor.organization_id, flow_id, input={"n": "many"})
    assert caught.value.errors is not None
    assert caught.value.errors[0]["loc"] == ["body", "input", "n"]
    assert await claim(database, actor.organization_id) == []


async def test_expired_lease_requeues_with_next_attempt_then_runner_lost(
    database: Database, settings: Settings, db_clock: ProcessClock
) -> None:
    settings = settings.model_copy(update={"max_attempts": 2})
    maintenance = Maintenance(database, settings)
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)

    first = await claim(database, actor.organization_id, "runner-a", lease_seconds=30)
    report = await maintenance.run_once()
    assert report.requeued == 0  # the lease still runs
    db_clock.advance(31)
    report = await maintenance.run_once()
    assert report.requeued == 1
    assert (await get(database, actor.organization_id, requested.id)).status == "queued"

    second = await claim(database, actor.organization_id, "runner-b", lease_seconds=30)
    assert [c.attempt for c in second] == [first[0].attempt + 1] == [2]
    db_clock.advance(31)
    report = await maintenance.run_once()
    assert report.runner_lost == 1
    lost = await get(database, actor.organization_id, requested.id)
    assert lost.status == "failed"
    assert lost.error is not None
    assert (lost.error["type"], lost.error["message"]) == (
        "runner_lost",
        "runner lost while running this execution",
    )
    assert await claim(database, actor.organization_id, "runner-c") == []


async def test_stale_attempt_is_refused_and_changes_nothing(
    database: Database, settings: Settings, db_clock: ProcessClock
) -> None:
    maintenance = Maintenance(database, settings)
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)
    stale = (await claim(database, actor.organization_id, "runner-a", lease_seconds=30))[0]
    db_clock.advance(31)
    await maintenance.run_once()
    current = (await claim(database, actor.organization_id, "runner-b"))[0]

    with pytest.raises(StaleAttempt):
        await _record(database, stale, "runner-a", [_log_event("from the past")])
    with pytest.raises(StaleAttempt):
        await complete(database, stale, "runner-a", output={"late": True})
    # The same runner id with an old attempt number is refused as well.
    with pytest.raises(StaleAttempt):
        await complete(database, stale, "runner-b", output={"late": True})

    view = await get(database, actor.organization_id, requested.id)
    assert (view.status, view.output, view.logs, view.attempt) == ("running", None, [], 2)
    await _record(database, current, "runner-b", [_log_event("current")])
    await complete(database, current, "runner-b", output={"ok": 1})
    view = await get(database, actor.organization_id, requested.id)
    assert (view.status, view.output, [log.message for log in view.logs]) == (
        "succeeded",
        {"ok": 1},
        ["current"],
    )


async def test_recorded_events_fold_into_steps_and_logs(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)
    claimed = (await claim(database, actor.organization_id))[0]
    at = "2026-01-01T00:00:00Z"
    await _record(
        database,
        claimed,
        "runner-1",
        [
            {
                "kind": "execution.started",
                "seq": 1,
                "at": at,
                "input": {"n": 21},
                "execution_id": claimed.id,
                "attempt": claimed.attempt,
                "flow_id": flow_id,
                "flow_revision": 1,
            },
            {
                "kind": "node.started",
                "seq": 2,
                "at": at,
                "step": 1,
                "node_id": "double",
                "visit": 1,
                "iteration": None,
                "attempt": 1,
                "input": {"values": {"m": 42}},
            },
            {
                "kind": "log",
                "seq": 3,
                "at": at,
                "node_id": "double",
                "step": 1,
                "level": "info",
                "message": "doubling",
            },
        ],
    )
    await _record(
        database,
        claimed,
        "runner-1",
        [
            {
                "kind": "node.succeeded",
                "seq": 4,
                "at": at,
                "step": 1,
                "node_id": "double",
                "attempts": 1,
                "output": {"m": 42},
                "port": "success",
            }
        ],
    )
    view = await get(database, actor.organization_id, requested.id)
    assert [(s.node_id, s.status, s.output, s.attempts, s.visit) for s in view.steps] == [
        ("double", "succeeded", {"m": 42}, 1, 1)
    ]
    assert view.steps[0].input == {"values": {"m": 42}}
    assert [(log.node_id, log.level, log.message) for log in view.logs] == [
        ("double", "info", "doubling")
    ]


async def test_release_hands_back_and_refuses_the_old_attempt(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    await request(database, actor.organization_id, flow_id)
    held = (await claim(database, actor.organization_id, "runner-a"))[0]
    async with database.transaction() as session:
        await execution_reports.release_executions(session, runner_id="runner-a", ids=[held.id])
    again = (await claim(database, actor.organization_id, "runner-a"))[0]
    assert (again.id, again.attempt) == (held.id, 2)
    with pytest.raises(StaleAttempt):
        await complete(database, held, "runner-a")


async def test_heartbeat_renews_and_reports_cancel_and_lost(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    for _ in range(2):
        await request(database, actor.organization_id, flow_id)
    one, two = await claim(database, actor.organization_id, "runner-a", lease_seconds=5)
    async with database.transaction() as session:
        await execution_actions.cancel_execution(
            session, organization_id=actor.organization_id, execution_id=two.id
        )
    async with database.transaction() as session:
        renewal = await execution_claims.renew_leases(
            session,
            runner_id="runner-a",
            held=[(one.id, one.attempt), (two.id, two.attempt), (one.id, 99)],
            lease_seconds=60,
        )
    assert set(renewal.renewed) == {one.id, two.id}
    assert renewal.cancel == [two.id]
    assert renewal.lost == [one.id]  # the (one, 99) pair is not held
    await complete(database, two, "runner-a", status=ExecutionStatus.CANCELLED)
    assert (await get(database, actor.organization_id, two.id)).status == "cancelled"


async def test_cancel_of_queued_ends_at_once_and_of_ended_conflicts(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    queued = await request(database, actor.organization_id, flow_id)
    async with database.transaction() as session:
        accepted = await execution_actions.cancel_execution(
            session, organization_id=actor.organization_id, execution_id=queued.id
        )
    assert accepted.status == "cancelled"
    assert await claim(database, actor.organization_id) == []
    async with database.transaction() as session:
        with pytest.raises(Conflict):
            await execution_actions.cancel_execution(
                session, organization_id=actor.organization_id, execution_id=queued.id
            )


async def test_unconfirmed_cancel_of_running_ends_cancelled_after_a_lease(
    database: Database, settings: Settings, db_clock: ProcessClock
) -> None:
    settings = settings.model_copy(update={"lease_seconds": 30.0})
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)
    held = (await claim(database, actor.organization_id, lease_seconds=30))[0]
    async with database.transaction() as session:
        accepted = await execution_actions.cancel_execution(
            session, organization_id=actor.organization_id, execution_id=requested.id
        )
    assert accepted.status == "running"
    assert accepted.cancel_requested_at is not None
    report = await Maintenance(database, settings).run_once()
    assert report.cancelled == 0  # the runner still has a lease to confirm it
    db_clock.advance(31)
    report = await Maintenance(database, settings).run_once()
    assert report.cancelled == 1
    assert (await get(database, actor.organization_id, requested.id)).status == "cancelled"
    with pytest.raises(StaleAttempt):
        await complete(database, held)


async def test_timeout_counts_from_first_start_across_attempts(
    database: Database, settings: Settings, db_clock: ProcessClock
) -> None:
    settings = settings.model_copy(update={"execution_timeout_margin_seconds": 0.0})
    actor = await make_actor(database)
    flow_id = await make_flow(
        database, actor.organization_id, definition=echo_definition(timeout_s=60)
    )
    requested = await request(database, actor.organization_id, flow_id)
    first = (await claim(database, actor.organization_id, "runner-a", lease_seconds=600))[0]
    assert first.deadline_at is not None
    async with database.transaction() as session:
        await execution_reports.release_executions(session, runner_id="runner-a", ids=[first.id])
    second = (await claim(database, actor.organization_id, "runner-b", lease_seconds=600))[0]
    assert second.deadline_at == first.deadline_at

    db_clock.advance(30)
    async with database.transaction() as session:
        renewal = await execution_claims.renew_leases(
            session, runner_id="runner-b", held=[(second.id, second.attempt)], lease_seconds=600
        )
    assert renewal.cancel == []  # half its time: the execution goes on
    db_clock.advance(31)
    async with database.transaction() as session:
        renewal = await execution_claims.renew_leases(
            session, runner_id="runner-b", held=[(second.id, second.attempt)], lease_seconds=600
        )
    assert renewal.cancel == [second.id]  # the runner is told to stop
    report = await Maintenance(database, settings).run_once()
    assert report.timed_out == 1
    view = await get(database, actor.organization_id, requested.id)
    assert view.status == "timed_out"
    assert view.error is not None
    assert (view.error["type"], view.error["attempt"]) == ("timeout", 2)


async def test_retry_from_node_hands_back_outputs_before_it(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    original = await request(database, actor.organization_id, flow_id)
    held = (await claim(database, actor.organization_id))[0]
    at = "2026-01-01T00:00:00Z"
    await _record(
        database,
        held,
        "runner-1",
        [
            {
                "kind": "node.started",
                "seq": 1,
                "at": at,
                "step": 1,
                "node_id": "start",
                "visit": 1,
                "iteration": None,
                "attempt": 1,
            },
            {
                "kind": "node.succeeded",
                "seq": 2,
                "at": at,
                "step": 1,
                "node_id": "start",
                "attempts": 1,
                "output": {"n": 21},
                "port": "success",
            },
            {
                "kind": "node.started",
                "seq": 3,
                "at": at,
                "step": 2,
                "node_id": "double",
                "visit": 1,
                "iteration": None,
                "attempt": 1,
            },
            {
                "kind": "node.succeeded",
                "seq": 4,
                "at": at,
                "step": 2,
                "node_id": "double",
                "attempts": 1,
                "output": {"m": 42},
                "port": "success",
            },
            {
                "kind": "node.started",
                "seq": 5,
                "at": at,
                "step": 3,
                "node_id": "out",
                "visit": 1,
                "iteration": None,
                "attempt": 1,
            },
            {
                "kind": "node.failed",
                "seq": 6,
                "at": at,
                "step": 3,
                "node_id": "out",
                "attempts": 1,
                "error": {"type": "template", "message": "boom"},
                "handled": False,
                "duration_ms": 1.0,
            },
        ],
    )
    error = {"node_id": "out", "type": "template", "message": "boom", "attempt": 1}
    await complete(database, held, status=ExecutionStatus.FAILED, error=error)

    async with database.transaction() as session:
        retry = await execution_actions.retry_execution(
            session,
            organization_id=actor.organization_id,
            execution_id=original.id,
            from_node="double",
        )
    assert (retry.retry_of, retry.trigger["type"], retry.input) == (original.id, "retry", {"n": 21})
    claimed = (await claim(database, actor.organization_id))[0]
    assert claimed.id == retry.id
    assert (claimed.from_node, claimed.prior_outputs) == (
        "double",
        {"start": {"output": {"n": 21}, "port": "success"}},
    )
    assert claimed.revision == original.revision

    async with database.transaction() as session:
        with pytest.raises(Conflict):  # the retry itself is still running
            await execution_actions.retry_execution(
                session, organization_id=actor.organization_id, execution_id=retry.id
            )


async def test_failed_execution_starts_the_organisation_error_flow_once(
    database: Database, settings: Settings
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    handler = await make_error_flow(database, actor.organization_id)
    failing = await request(database, actor.organization_id, flow_id)
    held = (await claim(database, actor.organization_id))[0]
    error = {"node_id": "out", "type": "fail", "message": "no", "attempt": 1}
    await complete(database, held, status=ExecutionStatus.FAILED, error=error)

    maintenance = Maintenance(database, settings)
    assert (await maintenance.run_once()).error_flows == 1
    assert (await maintenance.run_once()).error_flows == 0
    started = await claim(database, actor.organization_id)
    assert [c.flow_id for c in started] == [handler]
    assert started[0].trigger == {"type": "error_flow", "execution_id": failing.id}
    assert started[0].input["error"] == error
    # The error flow failing does not start itself again.
    await complete(database, started[0], status=ExecutionStatus.FAILED, error=error)
    assert (await maintenance.run_once()).error_flows == 0


async def test_executions_past_retention_are_pruned_with_their_history(
    database: Database, settings: Settings
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    old = await request(database, actor.organization_id, flow_id)
    held = (await claim(database, actor.organization_id))[0]
    await _record(database, held, "runner-1", [_log_event("old news")])
    await complete(database, held)
    recent = await request(database, actor.organization_id, flow_id)
    async with database.transaction() as session:
        await session.execute(
            update(Execution)
            .where(Execution.id == old.id)
            .values(finished_at=utcnow() - timedelta(days=31))
        )
    report = await Maintenance(database, settings).run_once()
    assert report.pruned == 1
    async with database.transaction() as session:
        left = {
            table.__tablename__: (
                await session.execute(
                    select(func.count()).select_from(table).where(table.execution_id == old.id)
                )
            ).scalar_one()
            for table in (ExecutionEvent, ExecutionLog, ExecutionStep)
        }
        assert await session.get(Execution, old.id) is None
        assert await session.get(Execution, recent.id) is not None
    assert left == {"execution_events": 0, "execution_logs": 0, "execution_steps": 0}


async def _record(
    database: Database, claimed: ClaimedExecution, runner_id: str, events: list[dict[str, Any]]
) -> None:
    async with database.transaction() as session:
        await execution_reports.record_events(
            session,
            runner_id=runner_id,
            execution_id=claimed.id,
            attempt=claimed.attempt,
            events=events,
        )


_started_without_step = {
    "kind": "node.started",
    "seq": 2,
    "at": "2026-01-01T00:00:00Z",
    "visit": 1,
    "attempt": 1,
}


def _log_event(message: str) -> dict[str, Any]:
    return {
        "kind": "log",
        "seq": 1,
        "at": "2026-01-01T00:00:00Z",
        "node_id": None,
        "level": "info",
        "message": message,
    }


async def test_waiting_detail_names_missing_labels_until_a_runner_carries_them(
    database: Database, settings: Settings
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(
        database, actor.organization_id, definition=echo_definition(runs_on={"location": "onprem"})
    )
    waiting = await request(database, actor.organization_id, flow_id)
    assert waiting.status_detail == "waiting for a runner with location=onprem"

    async with database.transaction() as session:
        token = await runners_service.create_token(
            session,
            organization_id=actor.organization_id,
            created_by=None,
            body=RunnerTokenCreate(name="dc-1", labels={"location": "onprem"}),
        )
        await runners_service.register_runner(
            session,
            token=token.token,
            name="dc-1",
            labels={},
            max_concurrent_executors=1,
            public_key=SigningKey.generate().public_key_base64(),
            version="test",
            offline_after_s=60,
        )
    await Maintenance(database, settings).run_once()
    assert (await get(database, actor.organization_id, waiting.id)).status_detail is None


async def test_idempotency_key_is_reusable_after_24_hours(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    keyed = {"idempotency_key": "nightly", "request_hash": "h1"}
    first = await request(database, actor.organization_id, flow_id, **keyed)
    assert (await request(database, actor.organization_id, flow_id, **keyed)).id == first.id
    with pytest.raises(Conflict):
        await request(
            database, actor.organization_id, flow_id, idempotency_key="nightly", request_hash="h2"
        )
    async with database.transaction() as session:
        await session.execute(
            update(Execution)
            .where(Execution.id == first.id)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    later = await request(
        database, actor.organization_id, flow_id, idempotency_key="nightly", request_hash="h2"
    )
    assert later.id != first.id


async def test_concurrent_requests_with_one_key_make_one_execution(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    views = await asyncio.gather(
        *(
            request(database, actor.organization_id, flow_id, idempotency_key="k", request_hash="h")
            for _ in range(5)
        )
    )
    assert len({view.id for view in views}) == 1
    assert len(await claim(database, actor.organization_id)) == 1


async def test_flow_at_its_limit_does_not_hold_up_other_work(database: Database) -> None:
    actor = await make_actor(database)
    limited = await make_flow(database, actor.organization_id, max_concurrent=1, name="limited")
    free = await make_flow(database, actor.organization_id, name="free")
    for _ in range(5):
        await request(database, actor.organization_id, limited)
    behind = await request(database, actor.organization_id, free)
    first = await claim(database, actor.organization_id, "runner-a", limit=1)
    assert [c.flow_id for c in first] == [limited]
    second = await claim(database, actor.organization_id, "runner-b", limit=2)
    assert [c.id for c in second] == [behind.id]


async def test_malformed_events_are_refused_with_nothing_stored(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    requested = await request(database, actor.organization_id, flow_id)
    held = (await claim(database, actor.organization_id))[0]
    with pytest.raises(ValidationFailed) as caught:
        await _record(
            database,
            held,
            "runner-1",
            # Malformed on purpose: a step event without its step, and a string.
            [_log_event("fine"), {**_started_without_step, "node_id": "double"}, "nonsense"],  # type: ignore[list-item]
        )
    assert [e["loc"] for e in caught.value.errors or []] == [
        ["body", "events", 1, "node.started", "step"],
        ["body", "events", 2],
    ]
    view = await get(database, actor.organization_id, requested.id)
    assert (view.steps, view.logs) == ([], [])


async def test_concurrent_maintenance_passes_requeue_each_expired_lease_once(
    database: Database, settings: Settings, db_clock: ProcessClock
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    for _ in range(10):
        await request(database, actor.organization_id, flow_id)
    held = await claim(database, actor.organization_id, lease_seconds=30)
    assert len(held) == 10
    db_clock.advance(31)
    reports = await asyncio.gather(*(Maintenance(database, settings).run_once() for _ in range(3)))
    assert sum(report.requeued for report in reports) == 10
    async with database.transaction() as session:
        requeue_events = (
            await session.execute(
                select(func.count())
                .select_from(ExecutionEvent)
                .where(
                    ExecutionEvent.execution_id.in_([h.id for h in held]),
                    ExecutionEvent.type == "execution",
                )
            )
        ).scalar_one()
    assert requeue_events == 10 * 3  # queued, running, queued again: once each
    assert len(await claim(database, actor.organization_id, "runner-2")) == 10
