"""Each item of a set-based report batch is fenced on its own: refused items (stale, unknown,
malformed) change nothing and the others land exactly as they would through the per-item
service calls (same steps, logs, stream events and sequence numbers). SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from flomation.db.session import Database
from flomation.executions import reports as execution_reports
from flomation.executions.notifier import HUB, execution_topic
from flomation.executions.schemas import ClaimedExecution
from flomation.models.executions import (
    Execution,
    ExecutionEvent,
    ExecutionLog,
    ExecutionStep,
    QueueEntry,
)
from flomation.protocol import Completion, ExecutionStatus, ReportItem, ReportRequest
from flomation.runners import protocol
from flomation.runners.service import AuthenticatedRunner
from tests.executions.factories import claim, request
from tests.factories import make_actor, make_flow
from tests.statements import recorded_statements

AT = "2026-01-01T00:00:00+00:00"


def _events(output: Any) -> list[dict[str, Any]]:
    """What the runner reports of an echo flow: start and return, each started and done."""
    events: list[dict[str, Any]] = []
    for step, node_id in ((1, "start"), (2, "out")):
        events.append(
            {"kind": "node.started", "seq": 2 * step - 1, "at": AT, "step": step,
             "node_id": node_id, "visit": 1, "iteration": None, "parent_step": None,
             "attempt": 1, "input": {"n": 21}}
        )  # fmt: skip
        events.append(
            {"kind": "node.succeeded", "seq": 2 * step, "at": AT, "step": step,
             "node_id": node_id, "attempts": 1, "output": output, "port": "success"}
        )  # fmt: skip
    events.append(
        {"kind": "log", "seq": 5, "at": AT, "node_id": "out", "level": "info", "message": "hi"}
    )
    return events


def _item(
    claimed: ClaimedExecution, *, attempt: int | None = None, ends: bool = True
) -> ReportItem:
    return ReportItem(
        execution_id=claimed.id,
        attempt=claimed.attempt if attempt is None else attempt,
        events=_events({"m": 42}),
        complete=Completion(status="succeeded", output={"m": 42}) if ends else None,
    )


def _runner(organization_id: str, runner_id: str = "runner-1") -> AuthenticatedRunner:
    return AuthenticatedRunner(
        runner_id=runner_id,
        organization_id=organization_id,
        labels={},
        max_concurrent_executors=8,
        nonce="n",
    )


async def _claimed(database: Database, count: int) -> tuple[str, list[ClaimedExecution]]:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    for _ in range(count):
        await request(database, actor.organization_id, flow_id)
    claimed = await claim(database, actor.organization_id, limit=count)
    assert len(claimed) == count
    return actor.organization_id, claimed


async def _recorded(database: Database, execution_id: str) -> dict[str, Any]:
    """Everything a report wrote for an execution, without what differs between executions."""
    async with database.transaction() as session:
        execution = await session.get(Execution, execution_id)
        steps = (
            await session.scalars(
                select(ExecutionStep)
                .where(ExecutionStep.execution_id == execution_id)
                .order_by(ExecutionStep.seq)
            )
        ).all()
        logs = (
            await session.scalars(
                select(ExecutionLog).where(ExecutionLog.execution_id == execution_id)
            )
        ).all()
        events = (
            await session.scalars(
                select(ExecutionEvent)
                .where(ExecutionEvent.execution_id == execution_id)
                .order_by(ExecutionEvent.seq)
            )
        ).all()
    assert execution is not None
    return {
        "execution": (execution.status, execution.output, execution.error, execution.last_seq,
                      execution.error_flow_pending, execution.finished_at is not None),
        "steps": [(s.step_key, s.node_id, s.step, s.status, s.attempts, s.input, s.output,
                   s.port, s.seq, s.finished_at is not None) for s in steps],
        "logs": [(line.seq, line.node_id, line.level, line.message) for line in logs],
        "events": [(e.seq, e.type, _stable(e.payload)) for e in events],
    }  # fmt: skip


def _stable(payload: Any) -> Any:
    """An event payload without the fields that differ between two executions."""
    if not isinstance(payload, dict):
        return payload
    varying = {"id", "queued_at", "started_at", "finished_at", "deadline_at"}
    return {k: v for k, v in payload.items() if k not in varying}


async def test_stale_unknown_and_malformed_items_are_refused_and_the_others_land(
    database: Database,
) -> None:
    organization_id, claimed = await _claimed(database, 3)
    first, second, stale = claimed
    malformed = {
        "execution_id": stale.id,
        "attempt": stale.attempt,
        "events": [{"kind": "node.started"}],
    }
    [refused_alone] = ReportRequest.model_validate({"items": [malformed]}).items
    [malformed_too] = ReportRequest.model_validate(
        {"items": [{**malformed, "execution_id": "malformed"}]}
    ).items
    items = [
        _item(first),
        _item(stale, attempt=stale.attempt + 1),
        ReportItem.model_validate(
            {"execution_id": "no-such-execution", "attempt": 1, "events": _events(1)}
        ),
        _item(second, ends=False),
        malformed_too,
    ]

    results = await protocol.report(database, _runner(organization_id), items)
    refused = await protocol.report(database, _runner(organization_id), [refused_alone])

    assert [r.result for r in results] == ["ok", "stale", "stale", "ok", "rejected"]
    assert [r.result for r in refused] == ["rejected"]
    done = await _recorded(database, first.id)
    assert done["execution"][0] == "succeeded"
    assert [row[1:4] for row in done["steps"]] == [("start", 1, "succeeded"),
                                                   ("out", 2, "succeeded")]  # fmt: skip
    assert [e[:2] for e in done["events"]] == [
        (1, "execution"), (2, "execution"), (3, "step"), (4, "step"), (5, "step"), (6, "step"),
        (7, "log"), (8, "execution"), (9, "end"),
    ]  # fmt: skip
    running = await _recorded(database, second.id)
    assert running["execution"][0] == "running"
    assert len(running["steps"]) == 2
    untouched = await _recorded(database, stale.id)
    assert untouched["execution"][0] == "running"
    assert (untouched["steps"], untouched["logs"]) == ([], [])
    assert [e[1] for e in untouched["events"]] == ["execution", "execution"]


async def test_a_batch_records_what_the_per_item_service_calls_record(database: Database) -> None:
    organization_id, claimed = await _claimed(database, 4)
    runner = _runner(organization_id)

    # Two in batches (their events, then their ends), two through the per-item service calls.
    await protocol.report(database, runner, [_item(c, ends=False) for c in claimed[:2]])
    ends = [_item(c).model_copy(update={"events": []}) for c in claimed[:2]]
    await protocol.report(database, runner, ends)
    for one in claimed[2:]:
        async with database.transaction() as session:
            await execution_reports.record_events(
                session,
                runner_id=runner.runner_id,
                execution_id=one.id,
                attempt=one.attempt,
                events=_events({"m": 42}),
            )
        async with database.transaction() as session:
            await execution_reports.complete_execution(
                session,
                runner_id=runner.runner_id,
                execution_id=one.id,
                attempt=one.attempt,
                status=ExecutionStatus.SUCCEEDED,
                output={"m": 42},
                error=None,
            )

    recorded = [await _recorded(database, c.id) for c in claimed]
    assert recorded[0]["execution"][0] == "succeeded"
    assert all(r == recorded[0] for r in recorded)


async def test_the_same_execution_twice_in_a_batch_is_recorded_in_order(
    database: Database,
) -> None:
    organization_id, [claimed] = await _claimed(database, 1)
    later = ReportItem(
        execution_id=claimed.id,
        attempt=claimed.attempt,
        events=[],
        complete=Completion(status="failed", error={"message": "boom"}),
    )

    results = await protocol.report(
        database, _runner(organization_id), [_item(claimed, ends=False), later]
    )

    assert [r.result for r in results] == ["ok", "ok"]
    done = await _recorded(database, claimed.id)
    assert done["execution"][:3] == ("failed", None, {"message": "boom"})
    assert done["execution"][4] is True  # its error flow is pending
    assert [e[1] for e in done["events"]][-2:] == ["execution", "end"]


async def test_an_end_whose_execution_row_refuses_it_keeps_its_queue_row(
    database: Database,
) -> None:
    """Rows out of step (the queue row held, the execution row not): the end is refused
    (stale) and its queue row put back, so the refused end does not leave it deleted."""
    organization_id, [odd, good] = await _claimed(database, 2)
    async with database.transaction() as session:
        await session.execute(
            update(Execution).where(Execution.id == odd.id).values(runner_id="someone-else")
        )

    results = await protocol.report(database, _runner(organization_id), [_item(odd), _item(good)])

    assert [r.result for r in results] == ["stale", "ok"]
    async with database.transaction() as session:
        assert await session.get(QueueEntry, odd.id) is not None
        assert await session.get(QueueEntry, good.id) is None
    assert (await _recorded(database, good.id))["execution"][0] == "succeeded"


async def test_a_batch_takes_a_fixed_number_of_statements_and_wakes_its_streams(
    database: Database,
) -> None:
    organization_id, claimed = await _claimed(database, 5)

    with (
        HUB.subscribe([execution_topic(c.id) for c in claimed]) as woken,
        recorded_statements(database) as statements,
    ):
        results = await protocol.report(
            database, _runner(organization_id), [_item(c) for c in claimed]
        )
        assert await woken.wait(1.0)

    assert {r.result for r in results} == {"ok"}
    statements = [s for s in statements if s != "BEGIN IMMEDIATE"]
    if database.is_postgres:
        # The runner's lock, queue rows, fences with wake-ups, then one write per table:
        # whatever the size of the batch, and no savepoint. Every step begins in the batch,
        # so no stored step is looked up.
        assert [s.split()[0] for s in statements] == [
            "SELECT", "DELETE", "UPDATE", "INSERT", "INSERT", "INSERT",
        ]  # fmt: skip
        assert "pg_notify" in statements[2]
    else:
        # In-process: one fence per item, the rest as on PostgreSQL (no lock to take).
        assert not any(s.startswith("SAVEPOINT") for s in statements)
        assert [s.split()[0] for s in statements] == [
            "DELETE", *["UPDATE"] * len(claimed), "INSERT", "INSERT", "INSERT",
        ]  # fmt: skip


def _started_only(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "node.started"]


def _finished_only(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] != "node.started"]


async def test_a_step_begun_in_an_earlier_batch_is_looked_up_and_completed(
    database: Database,
) -> None:
    organization_id, claimed = await _claimed(database, 2)
    split, whole = claimed
    runner = _runner(organization_id)
    events = _events({"m": 42})
    await protocol.report(
        database,
        runner,
        [ReportItem(execution_id=split.id, attempt=split.attempt, events=_started_only(events))],
    )

    with recorded_statements(database) as statements:
        finished = ReportItem(
            execution_id=split.id,
            attempt=split.attempt,
            events=_finished_only(events),
            complete=Completion(status="succeeded", output={"m": 42}),
        )
        results = await protocol.report(database, runner, [finished, _item(whole)])

    assert {r.result for r in results} == {"ok"}
    # The split execution's steps were read back to fold their ends into; the other's were not.
    [looked_up] = [s for s in statements if s.startswith("SELECT") and "execution_steps" in s]
    assert looked_up.count("?") + looked_up.count("$") == 2 * 3  # two steps' three-part keys
    # Folded onto the stored steps: the same rows, numbers and input as one whole batch.
    split_rows = (await _recorded(database, split.id))["steps"]
    whole_rows = (await _recorded(database, whole.id))["steps"]
    assert [row[:5] + row[6:8] for row in split_rows] == [row[:5] + row[6:8] for row in whole_rows]
    assert [row[5] for row in split_rows] == [{"n": 21}, {"n": 21}]
    # Each keeps the number of its first event: the first batch's two `node.started`.
    assert [row[8] for row in split_rows] == [3, 4]
