"""What a user's cancel writes: the queue row locked first, then the execution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.clock import db_now
from flomation.models.executions import Execution, ExecutionEvent, QueueEntry
from flomation.protocol.statuses import ExecutionStatus


async def append_events(
    session: AsyncSession, execution_id: str, events: Sequence[tuple[str, Any]]
) -> int:
    """Append `(type, payload)` events with the next sequence numbers; returns the last one.
    The `UPDATE ... RETURNING` on the execution row hands out numbers atomically."""
    if not events:
        return 0
    last = (
        await session.execute(
            update(Execution)
            .where(Execution.id == execution_id)
            .values(last_seq=Execution.last_seq + len(events))
            .returning(Execution.last_seq)
        )
    ).scalar_one()
    first = last - len(events) + 1
    await session.execute(
        insert(ExecutionEvent),
        [
            {"execution_id": execution_id, "seq": first + i, "type": kind, "payload": payload}
            for i, (kind, payload) in enumerate(events)
        ],
    )
    return int(last)


async def lock_queue_row(session: AsyncSession, execution_id: str) -> QueueEntry | None:
    """The queue row, locked (PostgreSQL) so a claim cannot take it meanwhile."""
    stmt = select(QueueEntry).where(QueueEntry.execution_id == execution_id).with_for_update()
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def request_cancel(session: AsyncSession, execution_id: str) -> Execution | None:
    stmt = (
        update(Execution)
        .where(Execution.id == execution_id, Execution.status == ExecutionStatus.RUNNING)
        .values(cancel_requested_at=func.coalesce(Execution.cancel_requested_at, db_now()))
        .returning(Execution)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return (await session.scalars(stmt)).first()
