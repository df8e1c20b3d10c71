"""Views of executions: summaries, steps and logs as the API shows them, and the payload of an
execution's `execution` events."""

from __future__ import annotations

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
from flomation.models.executions import Execution, ExecutionLog, ExecutionStep
from flomation.pagination import PageParams


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
    logs = await queries_repository.list_logs(session, execution.id)
    return ExecutionView(
        **summary(execution).model_dump(),
        steps=[step_view(s) for s in steps],
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
