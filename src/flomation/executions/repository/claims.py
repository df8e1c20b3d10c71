"""Claiming queued executions for a runner (lease and start in one statement where it can),
the claims' events, and renewing the leases a runner holds."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from flomation.db.base import UTCDateTime
from flomation.db.clock import db_now, db_now_plus, now_sql, with_clock
from flomation.db.driver import DriverStatement
from flomation.executions.notifier import CHANNEL, notify_payload
from flomation.executions.repository._sql import (
    EVENT_COLUMNS,
    SUMMARY_COLUMNS,
    insert_of_every_column,
    is_postgres,
    table_of,
)
from flomation.models.executions import Execution, ExecutionEvent, QueueEntry
from flomation.protocol.statuses import ExecutionStatus

# --------------------------------------------------------------------------- claiming

# The database's clock as the text statements below read it (`with_clock` binds its offset).
_SQLITE_NOW = now_sql("sqlite")
_SQLITE_NOW_PLUS_LEASE = now_sql("sqlite", ":lease_s")
_PG_NOW = now_sql("postgresql")
_PG_NOW_PLUS_LEASE = now_sql("postgresql", ":lease_s")
_PG_DEADLINE = now_sql("postgresql", "e.timeout_s")

# SQLite: one UPDATE ... RETURNING; writers are serialised (BEGIN IMMEDIATE), so the count of
# running executions per flow is exact. Labels: every (key, value) of the execution's labels
# must appear in the runner's.
_SQLITE_CLAIM = f"""
UPDATE execution_queue
SET lease_owner = :runner_id, lease_expires_at = {_SQLITE_NOW_PLUS_LEASE}, attempt = attempt + 1
WHERE execution_id IN (
    SELECT execution_id FROM (
        SELECT q.execution_id, q.available_at, q.max_concurrent,
               row_number() OVER (
                   PARTITION BY q.flow_id ORDER BY q.available_at, q.execution_id
               ) AS rank_in_flow,
               (SELECT count(*) FROM execution_queue r
                 WHERE r.flow_id = q.flow_id AND r.lease_owner IS NOT NULL) AS running
        FROM execution_queue q
        WHERE q.organization_id = :organization_id
          AND q.lease_owner IS NULL
          AND q.available_at <= {_SQLITE_NOW}
          AND NOT EXISTS (
              SELECT 1 FROM json_each(q.labels) AS wanted
              WHERE NOT EXISTS (
                  SELECT 1 FROM json_each(:labels) AS offered
                  WHERE offered.key = wanted.key AND offered.value = wanted.value
              )
          )
    )
    WHERE max_concurrent IS NULL OR rank_in_flow + running <= max_concurrent
    ORDER BY available_at, execution_id
    LIMIT :limit
)
RETURNING execution_id, lease_expires_at
"""

# PostgreSQL, step 1: of the flows with a concurrency limit that have claimable work, take
# (without waiting) a transaction lock on each. Every claim that could start an execution of a
# limited flow holds that flow's lock, so step 2 counts its running executions exactly.
_PG_LOCK_LIMITED_FLOWS = f"""
SELECT flow_id FROM (
    SELECT DISTINCT q.flow_id FROM execution_queue q
    WHERE q.organization_id = :organization_id
      AND q.lease_owner IS NULL
      AND q.max_concurrent IS NOT NULL
      AND q.available_at <= {_PG_NOW}
      AND q.labels <@ CAST(:labels AS jsonb)
) AS limited
WHERE pg_try_advisory_xact_lock(hashtextextended('flomation.flow:' || flow_id, 0))
"""

# PostgreSQL, step 2: SELECT ... FOR UPDATE SKIP LOCKED feeding UPDATE ... RETURNING, one
# statement, so concurrent claimers never take the same row and never wait for each other.
_PG_CHOSEN = f"""
WITH candidates AS (
    SELECT q.execution_id, q.flow_id, q.available_at, q.max_concurrent
    FROM execution_queue q
    WHERE q.organization_id = :organization_id
      AND q.lease_owner IS NULL
      AND q.available_at <= {_PG_NOW}
      AND q.labels <@ CAST(:labels AS jsonb)
      AND (
          q.max_concurrent IS NULL
          OR (
              q.flow_id = ANY(CAST(:locked_flows AS varchar[]))
              -- a flow at its limit must not hold up the rows behind it
              AND (SELECT count(*) FROM execution_queue r
                    WHERE r.flow_id = q.flow_id AND r.lease_owner IS NOT NULL)
                  < q.max_concurrent
          )
      )
    ORDER BY q.available_at, q.execution_id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
), ranked AS (
    SELECT c.execution_id, c.available_at, c.max_concurrent,
           row_number() OVER (
               PARTITION BY c.flow_id ORDER BY c.available_at, c.execution_id
           ) AS rank_in_flow,
           (SELECT count(*) FROM execution_queue r
             WHERE r.flow_id = c.flow_id AND r.lease_owner IS NOT NULL) AS running
    FROM candidates c
), chosen AS (
    SELECT execution_id FROM ranked
    WHERE max_concurrent IS NULL OR rank_in_flow + running <= max_concurrent
)"""

_PG_LEASE_CHOSEN = f"""
UPDATE execution_queue q
SET lease_owner = :runner_id,
    lease_expires_at = {_PG_NOW_PLUS_LEASE},
    attempt = q.attempt + 1
FROM chosen
WHERE q.execution_id = chosen.execution_id
RETURNING q.execution_id, q.lease_expires_at, q.attempt"""

_PG_CLAIM = _PG_CHOSEN + _PG_LEASE_CHOSEN


_STARTED_COLUMNS = tuple(
    Execution.__table__.c[name]
    for name in ("id", *SUMMARY_COLUMNS, "timeout_s", "prior_outputs", "recovery_error", "last_seq")
)

# PostgreSQL: the leased executions become `running` under this runner, with the attempt of
# their queue row (the deadline is fixed at the first start and kept across attempts), as the
# last part of a statement whose CTEs chose and leased the queue rows (`leased`): the queue
# rows are locked before the execution rows, the lock order of every writer.
# `_PG_CLAIM_AND_START`: step 2 and this in one statement.
_PG_START_LEASED = (
    f"""
UPDATE executions e
SET status = :running,
    status_detail = NULL,
    runner_id = :runner_id,
    attempt = leased.attempt,
    started_at = {_PG_NOW},
    first_started_at = coalesce(e.first_started_at, {_PG_NOW}),
    deadline_at = coalesce(
        e.deadline_at,
        CASE WHEN e.timeout_s IS NULL THEN NULL
             ELSE {_PG_DEADLINE} END
    ),
    last_seq = e.last_seq + 1
FROM leased
WHERE e.id = leased.execution_id
RETURNING """
    + ", ".join(f"e.{column.name}" for column in _STARTED_COLUMNS)
    + ", leased.lease_expires_at"
)
_PG_CLAIM_AND_START = _PG_CHOSEN + ", leased AS (" + _PG_LEASE_CHOSEN + "\n)" + _PG_START_LEASED


_CLAIMED_COLUMNS: dict[str, TypeEngine[Any]] = {
    "execution_id": String(),
    "lease_expires_at": UTCDateTime(),
}
# Built once: a claim pays neither for building its statements nor for their cache keys.
_PG_LOCK_LIMITED_FLOWS_STATEMENT = with_clock(text(_PG_LOCK_LIMITED_FLOWS)).columns(
    flow_id=String()
)
_PG_CLAIM_STATEMENT = with_clock(text(_PG_CLAIM)).columns(**_CLAIMED_COLUMNS)
_SQLITE_CLAIM_STATEMENT = with_clock(text(_SQLITE_CLAIM)).columns(**_CLAIMED_COLUMNS)


async def claim_queue_rows(
    session: AsyncSession,
    *,
    organization_id: str,
    runner_id: str,
    labels: dict[str, str],
    limit: int,
    lease_seconds: float,
) -> dict[str, datetime]:
    """Lease up to `limit` claimable queue rows to the runner; returns their execution ids
    and lease expiries."""
    labels_json = json.dumps(labels)
    params: dict[str, Any] = {
        "organization_id": organization_id,
        "runner_id": runner_id,
        "labels": labels_json,
        "limit": limit,
        "lease_s": float(lease_seconds),
    }
    if is_postgres(session):
        locked = (
            await session.execute(
                _PG_LOCK_LIMITED_FLOWS_STATEMENT,
                {"organization_id": organization_id, "labels": labels_json},
            )
        ).scalars()
        params["locked_flows"] = list(locked)
        statement = _PG_CLAIM_STATEMENT
    else:
        statement = _SQLITE_CLAIM_STATEMENT
    result = await session.execute(statement, params)
    return {str(row[0]): row[1] for row in result.all()}


_INSERT_CLAIM_EVENT = insert_of_every_column(ExecutionEvent, "v")


@functools.lru_cache(maxsize=64)
def _claim_events_statement(events: int, notifications: int) -> DriverStatement:
    """PostgreSQL: `events` event rows inserted as a data-modifying CTE, selecting
    `notifications` pg_notify calls: one round trip for a claim's events and wake-ups.

    Compiled here once per shape: SQLAlchemy never caches a multi-row VALUES insert, so
    through `session.execute` it would be compiled again on every claim."""
    table = table_of(ExecutionEvent)
    rows = [
        {name: bindparam(f"v{i}_{name}", type_=table.c[name].type) for name in EVENT_COLUMNS}
        for i in range(events)
    ]
    inserted = insert(table).values(rows).cte("insert_events")
    notify = [
        func.pg_notify(bindparam("channel"), bindparam(f"topic_{n}")) for n in range(notifications)
    ]
    return DriverStatement(select(*notify, literal(1)).add_cte(inserted))


async def insert_claim_events(
    session: AsyncSession, rows: Sequence[dict[str, Any]], *, notify: Sequence[str] = ()
) -> None:
    """The `execution` events of claimed executions (every column given), and on PostgreSQL
    the `notify` topics on the executions channel, in one statement. SQLite: one insert of
    all rows (its waiters are woken in-process)."""
    if not rows:
        return
    if is_postgres(session):
        params: dict[str, Any] = {"channel": CHANNEL}
        for i, row in enumerate(rows):
            params.update({f"v{i}_{name}": row[name] for name in EVENT_COLUMNS})
        params.update({f"topic_{n}": notify_payload(topic) for n, topic in enumerate(notify)})
        await _claim_events_statement(len(rows), len(notify)).fetch(session, params)
        return
    await session.execute(
        _INSERT_CLAIM_EVENT, [{f"v_{name}": row[name] for name in EVENT_COLUMNS} for row in rows]
    )


# PostgreSQL, the common case in one statement: when no flow with a concurrency limit has
# claimable work for this runner (`limited` in the same snapshot), there is no flow to lock nor
# running executions to count, and the oldest claimable rows are leased and started at once.
# Otherwise it claims nothing and says so (`limited_waiting`): then the two steps above run.
# One row always comes back, with null columns when nothing was started.
_PG_UNLIMITED_CLAIM_AND_START = (
    f"""
WITH limited AS (
    SELECT EXISTS (
        SELECT 1 FROM execution_queue l
        WHERE l.organization_id = :organization_id
          AND l.lease_owner IS NULL
          AND l.max_concurrent IS NOT NULL
          AND l.available_at <= {_PG_NOW}
          AND l.labels <@ CAST(:labels AS jsonb)
    ) AS waiting
), chosen AS (
    SELECT q.execution_id
    FROM execution_queue q
    WHERE q.organization_id = :organization_id
      AND q.lease_owner IS NULL
      AND q.max_concurrent IS NULL
      AND q.available_at <= {_PG_NOW}
      AND q.labels <@ CAST(:labels AS jsonb)
      AND NOT (SELECT waiting FROM limited)
    ORDER BY q.available_at, q.execution_id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
), leased AS ("""
    + _PG_LEASE_CHOSEN
    + """
), started AS ("""
    + _PG_START_LEASED
    + """
)
SELECT started.*, limited.waiting AS limited_waiting FROM limited LEFT JOIN started ON true"""
)


async def claim_and_start(
    session: AsyncSession,
    *,
    organization_id: str,
    runner_id: str,
    labels: dict[str, str],
    limit: int,
    lease_seconds: float,
) -> list[tuple[Any, datetime]]:
    """`claim_queue_rows`, then the claimed executions started: the started executions
    (rows with `_STARTED_COLUMNS`, read by attribute) and their lease expiries, oldest first.
    PostgreSQL: one statement leases and starts, unless a flow with a concurrency limit has
    claimable work: then two more (lock the limited flows, then lease and start). SQLite: the
    atomic queue-row `UPDATE ... RETURNING`, then one `UPDATE` of the executions."""
    labels_json = json.dumps(labels)
    params: dict[str, Any] = {
        "organization_id": organization_id,
        "runner_id": runner_id,
        "labels": labels_json,
        "limit": limit,
        "lease_s": float(lease_seconds),
    }
    if not is_postgres(session):
        leases = await claim_queue_rows(
            session,
            organization_id=organization_id,
            runner_id=runner_id,
            labels=labels,
            limit=limit,
            lease_seconds=lease_seconds,
        )
        if not leases:
            return []
        started = [
            (row, leases[row.id]) for row in await _start_leased(session, list(leases), runner_id)
        ]
    else:
        params["running"] = ExecutionStatus.RUNNING
        rows = (await session.execute(_pg_statement(_PG_UNLIMITED_CLAIM_AND_START), params)).all()
        started = [(row, row.lease_expires_at) for row in rows if row.id is not None]
        if rows[0].limited_waiting:
            locked = await session.execute(
                _PG_LOCK_LIMITED_FLOWS_STATEMENT,
                {"organization_id": organization_id, "labels": labels_json},
            )
            params["locked_flows"] = list(locked.scalars())
            result = await session.execute(_pg_statement(_PG_CLAIM_AND_START), params)
            started = [(row, row.lease_expires_at) for row in result.all()]
    started.sort(key=lambda pair: (pair[0].queued_at, pair[0].id))
    return started


@functools.cache
def _pg_statement(sql: str) -> Any:
    # Built once: a text statement's columns are typed like the table's (JSON, UTC times).
    return with_clock(text(sql)).columns(*_STARTED_COLUMNS, lease_expires_at=UTCDateTime())


async def _start_leased(
    session: AsyncSession, execution_ids: Sequence[str], runner_id: str
) -> list[Any]:
    """SQLite: the leased executions become `running` under this runner, as `_PG_START_LEASED`
    does; the columns a claim needs, no ORM objects."""
    table = cast(Table, Execution.__table__)
    attempt = (
        select(QueueEntry.attempt).where(QueueEntry.execution_id == table.c.id).scalar_subquery()
    )
    deadline = case(
        (table.c.timeout_s.is_(None), literal(None, table.c.deadline_at.type)),
        else_=db_now_plus(table.c.timeout_s),
    )
    stmt = (
        update(table)
        .where(table.c.id.in_(list(execution_ids)))
        .values(
            status=ExecutionStatus.RUNNING,
            status_detail=None,
            runner_id=runner_id,
            attempt=attempt,
            started_at=db_now(),
            first_started_at=func.coalesce(table.c.first_started_at, db_now()),
            deadline_at=func.coalesce(table.c.deadline_at, deadline),
            last_seq=table.c.last_seq + 1,
        )
        .returning(*_STARTED_COLUMNS)
    )
    return list((await session.execute(stmt)).all())


async def renew(
    session: AsyncSession, *, runner_id: str, held: Sequence[tuple[str, int]], lease_seconds: float
) -> list[tuple[str, int]]:
    """Extend the leases of the (execution, attempt) pairs this runner still holds."""
    if not held:
        return []
    stmt = (
        update(QueueEntry)
        .where(
            QueueEntry.lease_owner == runner_id,
            tuple_(QueueEntry.execution_id, QueueEntry.attempt).in_(list(held)),
        )
        .values(lease_expires_at=db_now_plus(lease_seconds))
        .returning(QueueEntry.execution_id, QueueEntry.attempt)
    )
    return [(str(row[0]), int(row[1])) for row in (await session.execute(stmt)).all()]


async def to_stop(session: AsyncSession, execution_ids: Sequence[str]) -> list[str]:
    """Of these running executions, those whose cancel was requested or deadline passed."""
    if not execution_ids:
        return []
    stmt = select(Execution.id).where(
        Execution.id.in_(list(execution_ids)),
        or_(Execution.cancel_requested_at.is_not(None), Execution.deadline_at < db_now()),
    )
    return [str(value) for value in (await session.scalars(stmt)).all()]
