"""Foreach iterations stored compactly: the steps of iterations that begin and end within one
report are one pack row per report, and their stream events one row per run, while the API
(`GET /api/v1/executions/{id}`) and the event stream show every iteration's step as before.
The runner's side is the engine's own events for a real run. SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from flomation.db.session import Database
from flomation.engine.events import ExecutionEvent, ExecutionRecorder, ListSink
from flomation.engine.executor import run_flow
from flomation.executions import reports as execution_reports
from flomation.executions import views
from flomation.executions.repository import queries as queries_repository
from flomation.executions.schemas import ClaimedExecution, StepStatus, StepView
from flomation.executions.views import step_payload
from flomation.protocol import ExecutionStatus
from tests.executions.factories import claim, complete, request
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.statements import recorded_statements


def _definition(fail_on: int | None = None) -> dict[str, Any]:
    """start -> each (foreach over `input.items`; body: double, then check, which fails on
    `fail_on` and is handled by the foreach's iteration results) -> out (the sum)."""
    check = "{{ item }}" if fail_on is None else f"{{{{ 1 / (item - {fail_on}) }}}}"
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "each", "type": "foreach", "config": {"items": "{{ input.items }}"}},
            {"id": "double", "type": "set", "config": {"values": {"v": "{{ item * 2 }}"}}},
            {"id": "check", "type": "set", "config": {"values": {"c": check}}},
            {"id": "out", "type": "return", "config": {"value": "{{ input.items | sum }}"}},
        ],
        "edges": [
            {"from": "start", "to": "each"},
            {"from": "each", "to": "double", "port": "each"},
            {"from": "double", "to": "check"},
            {"from": "each", "to": "out", "port": "done"},
        ],
    }


async def _run(definition: dict[str, Any], items: list[int]) -> tuple[list[dict[str, Any]], Any]:
    sink = ListSink()
    document = await run_flow(definition, {"items": items}, sink=sink)
    return [event.to_dict() for event in sink.events], document


def _engine_steps(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    recorder = ExecutionRecorder()
    for event in events:
        recorder.fold(ExecutionEvent.from_dict(event))
    steps: list[dict[str, Any]] = recorder.document()["steps"]
    return steps


SHOWN = ("node_id", "status", "visit", "iteration", "attempts", "input", "output", "error")


def _shown(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(json.dumps(step[name], sort_keys=True) for name in SHOWN) for step in steps]


async def _held(database: Database, actor: Actor, flow_id: str) -> ClaimedExecution:
    await request(database, actor.organization_id, flow_id)
    [held] = await claim(database, actor.organization_id)
    return held


async def _report(database: Database, held: ClaimedExecution, events: list[dict[str, Any]]) -> None:
    async with database.transaction() as session:
        await execution_reports.record_events(
            session, runner_id="runner-1", execution_id=held.id, attempt=held.attempt, events=events
        )


def _batches(events: list[dict[str, Any]], *cuts: int) -> list[list[dict[str, Any]]]:
    bounds = [0, *cuts, len(events)]
    return [events[a:b] for a, b in itertools.pairwise(bounds)]


async def _rows(database: Database, execution_id: str) -> dict[str, int]:
    counts = {}
    async with database.transaction() as session:
        for table in ("execution_steps", "execution_step_packs", "execution_events"):
            query = text(f"SELECT count(*) FROM {table} WHERE execution_id = :e")
            counts[table] = int((await session.execute(query, {"e": execution_id})).scalar_one())
    return counts


async def test_every_iteration_reads_as_the_engine_recorded_it_from_a_few_rows(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    items = list(range(40))
    events, document = await _run(_definition(), items)
    flow_id = await make_flow(database, owner.organization_id, definition=_definition())
    held = await _held(database, owner, flow_id)

    # Cut inside iterations: a step that begins in one report and ends in the next is a row.
    for batch in _batches(events, 51, 52, 130):
        await _report(database, held, batch)
    await complete(database, held, output=document["output"])

    async with api.client(owner.headers) as client:
        view = (await client.get(f"/api/v1/executions/{held.id}")).json()
    engine = _engine_steps(events)
    assert len(engine) == 3 + 2 * len(items)
    assert _shown(view["steps"]) == _shown(engine)
    doubled = [s for s in view["steps"] if s["node_id"] == "double"]
    assert [(s["iteration"], s["status"], s["output"]) for s in doubled] == [
        (i, "succeeded", {"v": i * 2}) for i in items
    ]
    assert all(s["started_at"] and s["finished_at"] for s in view["steps"])
    # 80 iteration steps: most in one pack per report (the one-event report has none), the
    # rest rows of their own.
    rows = await _rows(database, held.id)
    assert rows["execution_step_packs"] == 3
    assert rows["execution_steps"] < 10
    assert rows["execution_events"] < 30


async def test_a_failed_iteration_shows_its_error(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    events, document = await _run(_definition(fail_on=3), list(range(6)))
    assert document["status"] == "failed"
    flow_id = await make_flow(database, owner.organization_id, definition=_definition(fail_on=3))
    held = await _held(database, owner, flow_id)
    await _report(database, held, events)
    await complete(database, held, status=ExecutionStatus.FAILED, error=document["error"])

    async with api.client(owner.headers) as client:
        view = (await client.get(f"/api/v1/executions/{held.id}")).json()
    assert _shown(view["steps"]) == _shown(_engine_steps(events))
    failed = [s for s in view["steps"] if s["status"] == "failed" and s["iteration"] is not None]
    assert [(s["node_id"], s["iteration"]) for s in failed] == [("check", 3)]
    assert failed[0]["error"]["message"]
    assert (await _rows(database, held.id))["execution_step_packs"] == 1


async def test_the_stream_shows_each_iteration_step_and_resumes_inside_a_pack(
    database: Database, owner: Actor
) -> None:
    items = list(range(12))
    events, document = await _run(_definition(), items)
    flow_id = await make_flow(database, owner.organization_id, definition=_definition())
    held = await _held(database, owner, flow_id)
    await _report(database, held, events)
    await complete(database, held, output=document["output"])

    async with database.transaction() as session:
        stream = await queries_repository.events_after(session, held.id, 0)
    seqs = [event.seq for event in stream]
    assert seqs == sorted(set(seqs))
    assert stream[-1].type == "end"
    # Folded by step as the editor folds them, the stream ends where the execution's steps do.
    last: dict[str, dict[str, Any]] = {}
    for event in stream:
        if event.type == "step":
            data = event.payload
            last[f"{data['node_id']}|{data['iteration']}"] = data
    assert _shown(list(last.values())) == _shown(_engine_steps(events))

    # Resuming after an event in the middle of a pack gives exactly the events after it.
    middle = next(e for e in stream if e.type == "step" and e.payload["iteration"] == 5)
    async with database.transaction() as session:
        resumed = await queries_repository.events_after(session, held.id, middle.seq)
    assert [e.seq for e in resumed] == [e.seq for e in stream if e.seq > middle.seq]
    assert [e.payload for e in resumed] == [e.payload for e in stream if e.seq > middle.seq]


async def test_a_report_sent_twice_shows_each_step_once(database: Database, owner: Actor) -> None:
    items = list(range(10))
    events, document = await _run(_definition(), items)
    flow_id = await make_flow(database, owner.organization_id, definition=_definition())
    held = await _held(database, owner, flow_id)

    # The first report's answer was lost: the runner sends it again, with what followed.
    first, rest = _batches(events, 9)
    await _report(database, held, first)
    await _report(database, held, first + rest)
    await complete(database, held, output=document["output"])

    async with database.transaction() as session:
        view = await views.get_execution(
            session, organization_id=owner.organization_id, execution_id=held.id
        )
    shown = [step.model_dump(mode="json") for step in view.steps]
    assert _shown(shown) == _shown(_engine_steps(events))


async def test_a_reports_statements_do_not_grow_with_its_iterations(
    database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id, definition=_definition())
    counts = []
    for size in (5, 200):
        events, _ = await _run(_definition(), list(range(size)))
        held = await _held(database, owner, flow_id)
        with recorded_statements(database) as statements:
            await _report(database, held, events)
        counts.append(len(statements))
        rows = await _rows(database, held.id)
        assert rows["execution_step_packs"] == 1
    assert counts[0] == counts[1]


def test_a_step_payload_is_what_the_step_view_dumps() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    base = {
        "node_id": "double",
        "visit": 1,
        "iteration": [2, 0],
        "attempts": 2,
        "input": {"values": {"v": 4}},
        "output": {"v": 4, "nested": [None, "é"]},
        "error": None,
        "port": "success",
        "reused": False,
    }
    for changes in (
        {"status": StepStatus.SUCCEEDED, "started_at": at, "finished_at": at},
        {
            "status": StepStatus.RUNNING,
            "started_at": at.replace(microsecond=0),
            "finished_at": None,
        },
        {"status": "failed", "error": {"node_id": "double", "type": "x", "message": "m"}},
    ):
        step = {"started_at": None, "finished_at": None, **base, **changes}
        assert step_payload(step) == StepView.model_validate(step).model_dump(mode="json")
