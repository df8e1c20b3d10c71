"""Views of executions: summaries, steps and logs as the API shows them, and the payload of an
execution's `execution` events."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.errors import NotFound
from flomation.executions.repository import queries as queries_repository
from flomation.executions.schemas import (
    ExecutionStatus,
    ExecutionSummary,
    ExecutionView,
    LogView,
    StepView,
)
from flomation.models.executions import (
    Execution,
    ExecutionLog,
    ExecutionStep,
    ExecutionStepPack,
)
from flomation.pagination import PageParams
from flomation.timeutil import isoformat


def summary(execution: Execution) -> ExecutionSummary:
    return ExecutionSummary(
        id=execution.id,
        flow_id=execution.flow_id,
        revision=execution.revision,
        status=execution.status,
        status_detail=execution.status_detail,
        input=execution.input,
        output=execution.output,
        error=execution.error,
        trigger=execution.trigger,
        runs_on=execution.runs_on or {},
        retry_of=execution.retry_of,
        from_node=execution.from_node,
        parent_execution_id=execution.parent_execution_id,
        depth=execution.depth,
        runner_id=execution.runner_id,
        attempt=execution.attempt,
        queued_at=execution.queued_at,
        started_at=execution.started_at,
        finished_at=execution.finished_at,
        deadline_at=execution.deadline_at,
        cancel_requested_at=execution.cancel_requested_at,
    )


def step_view(step: ExecutionStep) -> StepView:
    return StepView(
        node_id=step.node_id,
        status=step.status,
        visit=step.visit,
        iteration=step.iteration,
        attempts=step.attempts,
        input=step.input,
        output=step.output,
        error=step.error,
        port=step.port,
        reused=step.reused,
        started_at=step.started_at,
        finished_at=step.finished_at,
    )


def step_key(node_id: str, visit: int | None, iteration: Any) -> str:
    """What tells a step from the others of its execution: `node_id|visit|iteration`, the
    iteration as JSON (a foreach index, or a path of them in nested loops)."""
    text = str(iteration) if type(iteration) is int else json.dumps(iteration, sort_keys=True)
    return f"{node_id}|{visit}|{text}"[:300]


def step_payload(step: Mapping[str, Any]) -> dict[str, Any]:
    """A step being stored (its columns as a dict) as `StepView` dumps it to JSON, built
    directly: the report path makes one per node event, and a model round trip costs more
    than the rest of the event's handling. Times in UTC with a `Z`."""
    return {
        "node_id": step["node_id"],
        "status": str(step["status"]),
        "visit": step["visit"],
        "iteration": step["iteration"],
        "attempts": step["attempts"],
        "input": step["input"],
        "output": step["output"],
        "error": step["error"],
        "port": step["port"],
        "reused": bool(step["reused"]),
        "started_at": isoformat(step["started_at"]),
        "finished_at": isoformat(step["finished_at"]),
    }


def _packed_step_view(step: Mapping[str, Any]) -> StepView:
    return StepView(
        node_id=step["node_id"],
        status=step["status"],
        visit=step["visit"],
        iteration=step["iteration"],
        attempts=step["attempts"],
        input=step["input"],
        output=step["output"],
        error=step["error"],
        port=step["port"],
        reused=step["reused"],
        started_at=step["started_at"],
        finished_at=step["finished_at"],
    )


def step_views(
    steps: Sequence[ExecutionStep], packs: Sequence[ExecutionStepPack]
) -> list[StepView]:
    """The steps of an execution in the order they began: its step rows and the steps its
    packs hold, as one list. A step is shown once, as its latest attempt stored it (a row is
    replaced by the next attempt's; a pack holds ended steps, so it wins over a row of the
    same attempt that a report sent twice left behind)."""
    if not packs:
        return [step_view(s) for s in steps]
    shown: dict[str, tuple[int, int, StepView]] = {}
    for row in steps:
        shown[row.step_key] = (row.run_attempt, row.seq, step_view(row))
    for pack in packs:
        for member in pack.steps:
            key = step_key(member["node_id"], member["visit"], member["iteration"])
            earlier = shown.get(key)
            if earlier is None or earlier[0] <= pack.run_attempt:
                shown[key] = (pack.run_attempt, int(member["seq"]), _packed_step_view(member))
    ordered = sorted(shown.items(), key=lambda item: (item[1][1], item[0]))
    return [view for _, (_, _, view) in ordered]


def log_view(log: ExecutionLog) -> LogView:
    return LogView(
        seq=log.seq, at=log.at, node_id=log.node_id, level=log.level, message=log.message
    )


def event_payload(execution: Execution) -> dict[str, Any]:
    return summary(execution).model_dump(mode="json")


def event_row(execution: Execution, seq: int, kind: str, payload: Any) -> dict[str, Any]:
    return {"execution_id": execution.id, "seq": seq, "type": kind, "payload": payload}


async def full_view(session: AsyncSession, execution: Execution) -> ExecutionView:
    steps = await queries_repository.list_steps(session, execution.id)
    packs = await queries_repository.list_packs(session, execution.id)
    logs = await queries_repository.list_logs(session, execution.id)
    return ExecutionView(
        **summary(execution).model_dump(),
        steps=step_views(steps, packs),
        logs=[log_view(log) for log in logs],
    )


async def get_execution(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> ExecutionView:
    """The execution with its steps and logs; `NotFound` for an unknown id or another
    organisation's."""
    execution = await execution_row(session, organization_id, execution_id)
    return await full_view(session, execution)


async def get_summary(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> ExecutionSummary:
    return summary(await execution_row(session, organization_id, execution_id))


async def execution_row(
    session: AsyncSession, organization_id: str, execution_id: str
) -> Execution:
    execution = await queries_repository.get_execution(session, organization_id, execution_id)
    if execution is None:
        raise NotFound(f"No execution {execution_id}")
    return execution


async def list_executions(
    session: AsyncSession,
    *,
    organization_id: str,
    page: PageParams[str],
    flow_id: str | None = None,
    status: ExecutionStatus | None = None,
) -> list[ExecutionSummary]:
    """Newest first: the page's items after its cursor, and one more when there are more
    (`make_page` keeps `page.limit` of them)."""
    rows = await queries_repository.list_executions(
        session, organization_id, page, flow_id=flow_id, status=status
    )
    return [summary(row) for row in rows]
