"""Reads of executions, their steps, logs and events, for views and streams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.executions.repository._sql import PACKED_STEP_EVENTS
from flomation.models.executions import (
    Execution,
    ExecutionEvent,
    ExecutionLog,
    ExecutionStep,
    ExecutionStepPack,
)
from flomation.pagination import PageParams, keyset
from flomation.protocol.statuses import ExecutionStatus


async def get_execution(
    session: AsyncSession, organization_id: str, execution_id: str
) -> Execution | None:
    stmt = select(Execution).where(
        Execution.id == execution_id, Execution.organization_id == organization_id
    )
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def get_execution_any_org(session: AsyncSession, execution_id: str) -> Execution | None:
    """For callers that already proved the organisation (a runner holding the execution)."""
    stmt = select(Execution).where(Execution.id == execution_id)
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def list_steps(session: AsyncSession, execution_id: str) -> list[ExecutionStep]:
    stmt = (
        select(ExecutionStep)
        .where(ExecutionStep.execution_id == execution_id)
        .order_by(ExecutionStep.seq, ExecutionStep.step_key)
    )
    return list((await session.scalars(stmt)).all())


async def list_packs(session: AsyncSession, execution_id: str) -> list[ExecutionStepPack]:
    stmt = (
        select(ExecutionStepPack)
        .where(ExecutionStepPack.execution_id == execution_id)
        .order_by(ExecutionStepPack.seq)
    )
    return list((await session.scalars(stmt)).all())


async def list_logs(session: AsyncSession, execution_id: str) -> list[ExecutionLog]:
    stmt = (
        select(ExecutionLog)
        .where(ExecutionLog.execution_id == execution_id)
        .order_by(ExecutionLog.seq)
    )
    return list((await session.scalars(stmt)).all())


async def list_executions(
    session: AsyncSession,
    organization_id: str,
    page: PageParams[str],
    *,
    flow_id: str | None,
    status: ExecutionStatus | None,
) -> list[Execution]:
    """Newest first (ids are time-ordered): the page's rows after its cursor, and one more
    when there are more."""
    stmt = select(Execution).where(Execution.organization_id == organization_id)
    if flow_id is not None:
        stmt = stmt.where(Execution.flow_id == flow_id)
    if status is not None:
        stmt = stmt.where(Execution.status == status)
    stmt = keyset(stmt, Execution.id, page, descending=True)
    return list((await session.scalars(stmt)).all())


async def succeeded_step_outputs(session: AsyncSession, execution_id: str) -> dict[str, Any]:
    """node id -> `{"output", "port"}` of its latest succeeded step in the main graph (not
    inside a foreach), leaving out outputs stored as truncated previews."""
    stmt = (
        select(ExecutionStep.node_id, ExecutionStep.output, ExecutionStep.port)
        .where(
            ExecutionStep.execution_id == execution_id,
            ExecutionStep.status == "succeeded",
            ExecutionStep.parent_step.is_(None),
            ExecutionStep.output_truncated.is_(False),
        )
        .order_by(ExecutionStep.seq)
    )
    return {
        node_id: {"output": output, "port": port or "success"}
        for node_id, output, port in (await session.execute(stmt)).all()
    }


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of an execution's stream: its number, type and payload."""

    seq: int
    type: str
    payload: Any


async def events_after(
    session: AsyncSession, execution_id: str, after_seq: int, limit: int = 500
) -> list[StreamEvent]:
    """The stream's events after `after_seq`, in order, from at most `limit` stored rows: a
    row of packed step events stands for several `step` events."""
    stmt = (
        select(ExecutionEvent.seq, ExecutionEvent.type, ExecutionEvent.payload)
        .where(ExecutionEvent.execution_id == execution_id, ExecutionEvent.seq > after_seq)
        .order_by(ExecutionEvent.seq)
        .limit(limit)
    )
    events: list[StreamEvent] = []
    for seq, kind, payload in (await session.execute(stmt)).all():
        if kind == PACKED_STEP_EVENTS:
            events.extend(
                StreamEvent(int(one["seq"]), "step", one["data"])
                for one in payload["steps"]
                if int(one["seq"]) > after_seq
            )
        else:
            events.append(StreamEvent(int(seq), str(kind), payload))
    return events
