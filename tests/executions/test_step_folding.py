"""The steps the API stores from a runner's events are folded by the engine's one rule
(`flomation.engine.steps`): they show what the engine's own recorder shows for the same
events, retries included. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flomation.db.session import Database
from flomation.engine.events import ExecutionEvent, ExecutionRecorder
from flomation.executions import reports as execution_reports
from tests.executions.factories import claim, get, request
from tests.factories import make_actor, make_flow

AT = "2026-01-01T00:00:00+00:00"
FAILED_ONCE = {"node_id": "double", "type": "http", "message": "503", "attempt": 1}


def _retried_step_events() -> list[dict[str, Any]]:
    """A node that fails its first attempt and succeeds on its second."""
    common = {"at": AT, "step": 1, "node_id": "double"}
    return [
        {**common, "kind": "node.started", "seq": 1, "visit": 1, "iteration": None,
         "parent_step": None, "attempt": 1, "input": {"n": 21}},
        {**common, "kind": "node.retrying", "seq": 2, "attempt": 1, "error": FAILED_ONCE,
         "delay_s": 0.5},
        {**common, "kind": "node.succeeded", "seq": 3, "attempts": 2, "output": {"m": 42},
         "port": "success", "duration_ms": 12},
    ]  # fmt: skip


def _recorded_by_the_engine(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    recorder = ExecutionRecorder()
    for event in events:
        recorder.fold(ExecutionEvent.from_dict(event))
    steps: list[dict[str, Any]] = recorder.document()["steps"]
    return steps


async def test_stored_steps_show_what_the_engine_records(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    await request(database, actor.organization_id, flow_id)
    [held] = await claim(database, actor.organization_id)
    events = _retried_step_events()

    # In two batches: the second folds onto the step the first stored.
    for batch in (events[:2], events[2:]):
        async with database.transaction() as session:
            await execution_reports.record_events(
                session,
                runner_id="runner-1",
                execution_id=held.id,
                attempt=held.attempt,
                events=batch,
            )

    [stored] = (await get(database, actor.organization_id, held.id)).steps
    [engine] = _recorded_by_the_engine(events)
    shown = ("node_id", "status", "visit", "iteration", "attempts", "input", "output", "error")
    assert {name: getattr(stored, name) for name in shown} == {name: engine[name] for name in shown}
    assert (stored.attempts, stored.error, stored.port) == (2, None, "success")
    assert stored.started_at == stored.finished_at == datetime.fromisoformat(AT)


async def test_a_retrying_step_shows_the_attempt_under_way(database: Database) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    await request(database, actor.organization_id, flow_id)
    [held] = await claim(database, actor.organization_id)

    async with database.transaction() as session:
        await execution_reports.record_events(
            session,
            runner_id="runner-1",
            execution_id=held.id,
            attempt=held.attempt,
            events=_retried_step_events()[:2],
        )

    [stored] = (await get(database, actor.organization_id, held.id)).steps
    assert (stored.status, stored.attempts, stored.error) == ("running", 2, None)
