"""The SQL of queue maintenance: expired leases, requeues, overdue cancels and deadlines,
pruning, pending error flows, why queued executions wait, and the queue depth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.clock import db_now, db_now_plus
from flomation.models.auth import Organization
from flomation.models.executions import (
    FINAL_STATUSES,
    Execution,
    ExecutionEvent,
    ExecutionLog,
    ExecutionStep,
    ExecutionStepPack,
    QueueEntry,
)
from flomation.protocol.statuses import ExecutionStatus


@dataclass(frozen=True)
class ExpiredLease:
    execution_id: str
    attempt: int
    cancel_requested: bool
    past_deadline: bool
    # Runners lost while holding it before this lease ran out.
    runner_losses: int = 0
    organization_id: str = ""
    flow_id: str = ""
    revision: int = 0
    # Set when the lease was a recovery attempt's (see `Execution.recovery_error`).
    recovery_error: dict[str, Any] | None = None


async def lock_expired_leases(session: AsyncSession, limit: int = 500) -> list[ExpiredLease]:
    """Queue rows whose lease ran out, locked without waiting (another API process may be
    handling some of them), with what decides their fate."""
    locked = (
        select(QueueEntry.execution_id, QueueEntry.attempt)
        .where(QueueEntry.lease_owner.is_not(None), QueueEntry.lease_expires_at < db_now())
        .order_by(QueueEntry.lease_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (await session.execute(locked)).all()
    if not rows:
        return []
    ids = [str(row[0]) for row in rows]
    flags = select(
        Execution.id,
        Execution.cancel_requested_at.is_not(None),
        and_(Execution.deadline_at.is_not(None), Execution.deadline_at < db_now()),
        Execution.runner_losses,
        Execution.organization_id,
        Execution.flow_id,
        Execution.revision,
        Execution.recovery_error,
    ).where(Execution.id.in_(ids))
    by_id = {str(row[0]): row for row in (await session.execute(flags))}
    expired = []
    for execution_id, attempt in rows:
        found = by_id.get(str(execution_id))
        if found is None:
            expired.append(ExpiredLease(str(execution_id), int(attempt), False, False))
            continue
        expired.append(
            ExpiredLease(
                str(execution_id),
                int(attempt),
                cancel_requested=bool(found[1]),
                past_deadline=bool(found[2]),
                runner_losses=int(found[3] or 0),
                organization_id=str(found[4]),
                flow_id=str(found[5]),
                revision=int(found[6]),
                recovery_error=found[7],
            )
        )
    return expired


async def count_runner_loss(session: AsyncSession, execution_ids: Sequence[str]) -> None:
    """One more runner lost while holding each of these executions (their leases ran out)."""
    if execution_ids:
        await session.execute(
            update(Execution)
            .where(Execution.id.in_(list(execution_ids)))
            .values(runner_losses=Execution.runner_losses + 1)
        )


async def set_recovery_errors(session: AsyncSession, errors: Mapping[str, Any]) -> None:
    """Make the next attempt of each execution a recovery attempt ending with its error."""
    if errors:
        await session.execute(
            update(Execution),
            [
                {"id": execution_id, "recovery_error": error}
                for execution_id, error in errors.items()
            ],
        )


async def recovery_errors(session: AsyncSession, execution_ids: Sequence[str]) -> dict[str, Any]:
    """Of these executions, those waiting for or running a recovery attempt, with its error."""
    if not execution_ids:
        return {}
    # Filtered here: a JSON `null` is not SQL NULL.
    stmt = select(Execution.id, Execution.recovery_error).where(
        Execution.id.in_(list(execution_ids))
    )
    return {str(row[0]): row[1] for row in (await session.execute(stmt)).all() if row[1]}


async def requeue(session: AsyncSession, execution_ids: Sequence[str]) -> None:
    if execution_ids:
        await session.execute(
            update(QueueEntry)
            .where(QueueEntry.execution_id.in_(list(execution_ids)))
            .values(lease_owner=None, lease_expires_at=None, available_at=db_now())
        )


async def delete_queue_rows(session: AsyncSession, execution_ids: Sequence[str]) -> None:
    if execution_ids:
        await session.execute(
            delete(QueueEntry).where(QueueEntry.execution_id.in_(list(execution_ids)))
        )


async def overdue_cancellations(session: AsyncSession, grace_s: float) -> list[str]:
    """Running executions whose cancel was requested more than `grace_s` ago."""
    stmt = select(Execution.id).where(
        Execution.status == ExecutionStatus.RUNNING,
        Execution.cancel_requested_at.is_not(None),
        Execution.cancel_requested_at < db_now_plus(-grace_s),
    )
    return [str(value) for value in (await session.scalars(stmt)).all()]


async def overdue_deadlines(session: AsyncSession, margin_s: float) -> dict[str, int]:
    """Executions (running, or requeued after a first start) past deadline + margin, with
    their attempt."""
    stmt = select(Execution.id, Execution.attempt).where(
        Execution.status.in_((ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)),
        Execution.deadline_at.is_not(None),
        Execution.deadline_at < db_now_plus(-margin_s),
    )
    return {str(row[0]): int(row[1]) for row in (await session.execute(stmt)).all()}


async def lock_queue_rows(session: AsyncSession, execution_ids: Sequence[str]) -> list[str]:
    """Lock these queue rows without waiting; the ids whose rows we now hold."""
    if not execution_ids:
        return []
    stmt = (
        select(QueueEntry.execution_id)
        .where(QueueEntry.execution_id.in_(list(execution_ids)))
        .with_for_update(skip_locked=True)
    )
    return [str(value) for value in (await session.scalars(stmt)).all()]


async def prune_finished(session: AsyncSession, retention_days: int, limit: int = 1000) -> int:
    """Delete executions that ended more than `retention_days` ago (steps, logs and events
    go with them by cascade); at most `limit` per call."""
    old = (
        select(Execution.id)
        .where(
            Execution.status.in_(FINAL_STATUSES),
            Execution.finished_at < db_now_plus(-retention_days * 86400.0),
        )
        .limit(limit)
    )
    ids = [str(value) for value in (await session.scalars(old)).all()]
    if not ids:
        return 0
    # Children first: SQLite only cascades with foreign keys on, and this stays explicit.
    for table in (ExecutionEvent, ExecutionLog, ExecutionStep, ExecutionStepPack):
        await session.execute(delete(table).where(table.execution_id.in_(ids)))
    await session.execute(delete(QueueEntry).where(QueueEntry.execution_id.in_(ids)))
    await session.execute(delete(Execution).where(Execution.id.in_(ids)))
    return len(ids)


async def lock_error_flow_pending(
    session: AsyncSession, limit: int = 50
) -> list[tuple[Execution, str | None]]:
    """Ended failed/timed_out executions whose error flow is not started yet, with their
    organisation's `error_flow_id`; locked without waiting."""
    stmt = (
        select(Execution, Organization.error_flow_id)
        .join(Organization, Organization.id == Execution.organization_id)
        .where(Execution.error_flow_pending.is_(True))
        .order_by(Execution.id)
        .limit(limit)
        .with_for_update(of=Execution, skip_locked=True)
    )
    rows = (await session.execute(stmt.execution_options(populate_existing=True))).all()
    return [(row[0], row[1]) for row in rows]


async def clear_error_flow_pending(session: AsyncSession, execution_id: str) -> None:
    await session.execute(
        update(Execution).where(Execution.id == execution_id).values(error_flow_pending=False)
    )


async def waiting_label_sets(
    session: AsyncSession,
) -> list[tuple[str, str, dict[str, Any], str | None]]:
    """(execution id, organisation, labels, status_detail) of every unleased queued execution."""
    stmt = (
        select(
            QueueEntry.execution_id,
            QueueEntry.organization_id,
            QueueEntry.labels,
            Execution.status_detail,
        )
        .join(Execution, Execution.id == QueueEntry.execution_id)
        .where(QueueEntry.lease_owner.is_(None), Execution.status == ExecutionStatus.QUEUED)
        .limit(5000)
    )
    return [(str(r[0]), str(r[1]), dict(r[2] or {}), r[3]) for r in (await session.execute(stmt))]


async def set_status_detail(
    session: AsyncSession, execution_ids: Sequence[str], detail: str | None
) -> None:
    if execution_ids:
        await session.execute(
            update(Execution)
            .where(
                Execution.id.in_(list(execution_ids)), Execution.status == ExecutionStatus.QUEUED
            )
            .values(status_detail=detail)
        )


async def queue_depth_by_labels(session: AsyncSession) -> list[tuple[dict[str, Any], int]]:
    stmt = (
        select(QueueEntry.labels, func.count())
        .where(QueueEntry.lease_owner.is_(None))
        .group_by(QueueEntry.labels)
    )
    return [(dict(row[0] or {}), int(row[1])) for row in (await session.execute(stmt))]
