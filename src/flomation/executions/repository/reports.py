"""What a runner's report writes: the fences (a runner must hold the attempt it reports), the
steps, log lines and stream events, the ends; and the requeue of released executions."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Insert,
    Integer,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    join,
    literal_column,
    null,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from flomation.db.base import Base, JSONDocument, JSONValue
from flomation.db.clock import db_now, now_sql, with_clock
from flomation.db.driver import DriverStatement
from flomation.executions.repository._sql import (
    EVENT_COLUMNS,
    SUMMARY_COLUMNS,
    is_postgres,
    table_of,
)
from flomation.executions.repository._sql import PACKED_STEP_EVENTS as PACKED_STEP_EVENTS
from flomation.models.auth import Organization
from flomation.models.executions import (
    Execution,
    ExecutionEvent,
    ExecutionLog,
    ExecutionStep,
    ExecutionStepPack,
    QueueEntry,
)
from flomation.models.flows import Flow
from flomation.protocol.statuses import ExecutionStatus

# A runner's report of several executions in a fixed number of statements, whatever its size.
# Built once with bind parameters (see `insert_of_every_column`).

_TAKE_HELD_QUEUE_ROWS = (
    delete(QueueEntry)
    .where(
        QueueEntry.lease_owner == bindparam("t_runner"),
        tuple_(QueueEntry.execution_id, QueueEntry.attempt).in_(
            bindparam("t_held", expanding=True)
        ),
    )
    .returning(*table_of(QueueEntry).c)
)


async def take_held_queue_rows(
    session: AsyncSession, *, runner_id: str, held: Sequence[tuple[str, int]]
) -> dict[str, dict[str, Any]]:
    """Remove the queue rows of the (execution, attempt) pairs this runner holds (their
    executions are ending), in one statement: each removed row by execution id, every column
    (for `restore_queue_rows`)."""
    if not held:
        return {}
    params = {"t_runner": runner_id, "t_held": list(held)}
    result = await session.execute(_TAKE_HELD_QUEUE_ROWS, params)
    return {str(row["execution_id"]): dict(row) for row in result.mappings().all()}


_RESTORE_QUEUE_ROW = insert(QueueEntry)


async def restore_queue_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Put back queue rows `take_held_queue_rows` removed, as they were: in the same
    transaction, as if they had never been removed."""
    if rows:
        await session.execute(_RESTORE_QUEUE_ROW, list(rows))


_STEPS_BY_KEYS = select(*table_of(ExecutionStep).c).where(
    tuple_(ExecutionStep.execution_id, ExecutionStep.run_attempt, ExecutionStep.step).in_(
        bindparam("s_keys", expanding=True)
    )
)


async def steps_by_keys(
    session: AsyncSession, keys: Iterable[tuple[str, int, int]]
) -> list[dict[str, Any]]:
    """Every column of the steps with these (execution, run attempt, step number) keys."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    result = await session.execute(_STEPS_BY_KEYS, {"s_keys": wanted})
    return [dict(row) for row in result.mappings().all()]


@dataclass(frozen=True)
class Fence:
    """One execution of a report batch: reserve `count` event numbers and, when `ends` is
    set, also end it. `strict`: this runner must hold this attempt of the running execution
    (an item with events); otherwise (an end alone, whose queue row was the fence) it only
    must not have ended yet. `wakes`/`frees`: notify its event stream / the idle runners."""

    execution_id: str
    attempt: int
    count: int
    strict: bool
    ends: bool = False
    status: str | None = None
    output: Any = None
    error: Any = None
    wakes: bool = False
    frees: bool = False


# What a fence answers: the new last sequence number, and the summary of an ended execution;
# and `save_data`, what the execution keeps (below).
FENCE_COLUMNS = ("id", "last_seq", "organization_id", *SUMMARY_COLUMNS)
_EXECUTIONS = table_of(Execution)

# What an execution keeps (`all`, `errors`, `none`): its flow's `save_data` setting, else its
# organisation's default. Read by the fence itself, so knowing it costs no statement of its own;
# both are read as they are now (a `PATCH` of the flow or the organisation applies to the
# executions that report after it, including those already running).
_PG_SAVE_DATA = """(
    SELECT COALESCE(f.save_data, o.save_data)
    FROM flows AS f JOIN organizations AS o ON o.id = f.organization_id
    WHERE f.id = e.flow_id
) AS save_data"""
# The same for SQLite and `save_data_of`, every column named with its table: SQLite's RETURNING
# names columns bare, and a bare `id` inside the subquery would be ambiguous.
_SAVE_DATA = (
    select(func.coalesce(literal_column("flows.save_data"), Organization.save_data))
    .select_from(
        join(
            Flow,
            Organization,
            literal_column("organizations.id") == literal_column("flows.organization_id"),
        )
    )
    .where(literal_column("flows.id") == literal_column("executions.flow_id"))
    .scalar_subquery()
    .label("save_data")
)

# PostgreSQL: the whole batch in one UPDATE over arrays of its items; each row that passes its
# fence sends its own wake-ups, so they cost no round trip of their own.
_PG_FENCE_BATCH = with_clock(
    text(
        f"""
UPDATE executions AS e
SET last_seq = e.last_seq + v.count,
    status = CASE WHEN v.ends THEN v.status ELSE e.status END,
    status_detail = CASE WHEN v.ends THEN NULL ELSE e.status_detail END,
    output = CASE WHEN v.ends THEN CAST(v.output AS jsonb) ELSE e.output END,
    error = CASE WHEN v.ends THEN CAST(v.error AS jsonb) ELSE e.error END,
    finished_at = CASE WHEN v.ends THEN {now_sql("postgresql")} ELSE e.finished_at END,
    error_flow_pending = CASE
        WHEN v.ends THEN v.status IN ('{ExecutionStatus.FAILED}', '{ExecutionStatus.TIMED_OUT}')
        ELSE e.error_flow_pending END
FROM unnest(
    CAST(:ids AS varchar[]), CAST(:attempts AS integer[]), CAST(:counts AS integer[]),
    CAST(:stricts AS boolean[]), CAST(:ends AS boolean[]), CAST(:statuses AS varchar[]),
    CAST(:outputs AS text[]), CAST(:errors AS text[]), CAST(:wakes AS boolean[]),
    CAST(:frees AS boolean[])
) AS v(id, attempt, count, strict, ends, status, output, error, wakes, frees)
WHERE e.id = v.id
  AND CASE WHEN v.strict
      THEN e.runner_id = :runner_id AND e.attempt = v.attempt
          AND e.status = '{ExecutionStatus.RUNNING}'
      ELSE e.status IN ('{ExecutionStatus.QUEUED}', '{ExecutionStatus.RUNNING}') END
RETURNING {", ".join(f"e.{name}" for name in FENCE_COLUMNS)}, {_PG_SAVE_DATA},
    CASE WHEN v.wakes THEN pg_notify(:channel, :execution_prefix || e.id) END AS woke_stream,
    CASE WHEN v.frees THEN pg_notify(:channel, :work_prefix || e.organization_id) END
        AS woke_runners
"""
    )
).columns(**{name: _EXECUTIONS.c[name].type for name in FENCE_COLUMNS}, save_data=String())

# SQLite: the same, one execution per statement (in-process: no round trips to save).
_ENDS = bindparam("u_ends", type_=Boolean())
_SQLITE_FENCE_ONE = (
    update(Execution)
    .where(
        Execution.id == bindparam("u_id"),
        case(
            (
                bindparam("u_strict", type_=Boolean()),
                and_(
                    Execution.runner_id == bindparam("u_runner"),
                    Execution.attempt == bindparam("u_attempt"),
                    Execution.status == ExecutionStatus.RUNNING,
                ),
            ),
            else_=Execution.status.in_((ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)),
        ),
    )
    .values(
        last_seq=Execution.last_seq + bindparam("u_count", type_=Integer()),
        status=case((_ENDS, bindparam("u_status", type_=String())), else_=Execution.status),
        status_detail=case((_ENDS, null()), else_=Execution.status_detail),
        output=case((_ENDS, bindparam("u_output", type_=JSONValue)), else_=Execution.output),
        error=case((_ENDS, bindparam("u_error", type_=JSONValue)), else_=Execution.error),
        finished_at=case((_ENDS, db_now()), else_=Execution.finished_at),
        error_flow_pending=case(
            (_ENDS, bindparam("u_pending", type_=Boolean())), else_=Execution.error_flow_pending
        ),
    )
    .returning(*(_EXECUTIONS.c[name] for name in FENCE_COLUMNS), _SAVE_DATA)
)


_ANSWER = (*FENCE_COLUMNS, "save_data")


async def fence_batch(
    session: AsyncSession,
    *,
    runner_id: str,
    fences: Sequence[Fence],
    channel: str,
    execution_prefix: str,
    work_prefix: str,
) -> dict[str, dict[str, Any]]:
    """Fence, number and (those that end) end the executions of a report batch; the ids that
    passed their fence, each with its `FENCE_COLUMNS` and `save_data`. It locks the execution
    rows it updates. PostgreSQL also sends the wake-ups (`<prefix><id>` on `channel`) of the
    rows that passed."""
    if not fences:
        return {}
    if is_postgres(session):
        params: dict[str, Any] = {
            "runner_id": runner_id,
            "channel": channel,
            "execution_prefix": execution_prefix,
            "work_prefix": work_prefix,
            "ids": [f.execution_id for f in fences],
            "attempts": [f.attempt for f in fences],
            "counts": [f.count for f in fences],
            "stricts": [f.strict for f in fences],
            "ends": [f.ends for f in fences],
            "statuses": [f.status for f in fences],
            "outputs": [json.dumps(f.output) if f.ends else None for f in fences],
            "errors": [json.dumps(f.error) if f.ends else None for f in fences],
            "wakes": [f.wakes for f in fences],
            "frees": [f.frees for f in fences],
        }
        rows = (await session.execute(_PG_FENCE_BATCH, params)).mappings().all()
        return {str(row["id"]): {name: row[name] for name in _ANSWER} for row in rows}
    passed: dict[str, dict[str, Any]] = {}
    for fence in fences:
        one: dict[str, Any] = {
            "u_id": fence.execution_id,
            "u_runner": runner_id,
            "u_attempt": fence.attempt,
            "u_strict": fence.strict,
            "u_count": fence.count,
            "u_ends": fence.ends,
            "u_status": fence.status,
            "u_output": fence.output,
            "u_error": fence.error,
            "u_pending": fence.status in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT),
        }
        row = (await session.execute(_SQLITE_FENCE_ONE, one)).mappings().first()
        if row is not None:
            passed[fence.execution_id] = dict(row)
    return passed


# A step's columns but its key (`execution_id`, `step_key`) and first `seq`: what an upsert
# replaces.
_STEP_COLUMNS = (
    "node_id",
    "visit",
    "iteration",
    "run_attempt",
    "step",
    "parent_step",
    "status",
    "attempts",
    "input",
    "output",
    "error",
    "port",
    "reused",
    "output_truncated",
    "started_at",
    "finished_at",
)
# Every column of an `execution_steps` row.
STEP_ROW_COLUMNS = ("execution_id", "step_key", "seq", *_STEP_COLUMNS)


@functools.cache
def _upsert_steps_statement(dialect: str) -> Insert:
    """Built once per dialect: `ON CONFLICT` is each dialect's own construct."""
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(ExecutionStep)
    return statement.on_conflict_do_update(
        index_elements=["execution_id", "step_key"],
        set_={name: statement.excluded[name] for name in _STEP_COLUMNS},
    )


_INSERT_LOG = insert(ExecutionLog)
_INSERT_EVENT = insert(ExecutionEvent)
_LOG_COLUMNS = ("execution_id", "seq", "at", "node_id", "level", "message")


def _array_item_type(column: Any) -> TypeEngine[Any]:
    # A JSON document that is None is SQL NULL, as the row-by-row path stores it (an array's
    # item would otherwise be serialised as the JSON `null`).
    if isinstance(column.type, JSONDocument):
        return JSONB(none_as_null=True)
    return cast(TypeEngine[Any], column.type)


@functools.cache
def _unnest_insert(model: type[Base], columns: tuple[str, ...], upsert: bool) -> DriverStatement:
    """PostgreSQL: a whole batch of `model` rows in one statement, one array per column
    (`INSERT ... SELECT FROM unnest(...)`), compiled once. An executemany sends, and the server
    plans and runs, one INSERT per row; a report batch carries dozens of rows per table.
    `upsert`: the steps' `ON CONFLICT (execution_id, step_key)` update."""
    table = table_of(model)
    arrays = [bindparam(name, type_=ARRAY(_array_item_type(table.c[name]))) for name in columns]
    rows = func.unnest(*arrays).table_valued(*columns).render_derived()
    statement = pg_insert(table).from_select(list(columns), select(*(rows.c[n] for n in columns)))
    if upsert:
        statement = statement.on_conflict_do_update(
            index_elements=["execution_id", "step_key"],
            set_={name: statement.excluded[name] for name in _STEP_COLUMNS},
        )
    return DriverStatement(statement)


async def _insert_batch(
    session: AsyncSession,
    model: type[Base],
    columns: tuple[str, ...],
    rows: Sequence[dict[str, Any]],
    *,
    upsert: bool = False,
) -> None:
    """`rows` (each with every one of `columns`) in one statement, as arrays by column."""
    params = {name: [row[name] for row in rows] for name in columns}
    await _unnest_insert(model, columns, upsert).fetch(session, params)


async def upsert_steps(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace steps by (execution_id, step_key), in one batch. `seq` keeps the
    number of the event that first recorded the step, so a view lists steps in start order."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    keys = {(row["execution_id"], row["step_key"]) for row in rows}
    # One statement may not update a row twice: a batch naming a step twice goes row by row.
    if dialect == "postgresql" and len(keys) == len(rows):
        await _insert_batch(session, ExecutionStep, STEP_ROW_COLUMNS, rows, upsert=True)
        return
    await session.execute(_upsert_steps_statement(dialect), list(rows))


@functools.cache
def _upsert_packs_statement(dialect: str) -> Insert:
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(ExecutionStepPack)
    return statement.on_conflict_do_update(
        index_elements=["execution_id", "pack_key"],
        set_={name: statement.excluded[name] for name in ("run_attempt", "seq", "steps")},
    )


async def upsert_packs(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert packed steps (`ExecutionStepPack`), one row per report of an execution: a
    report sent again replaces its pack."""
    if rows:
        dialect = session.get_bind().dialect.name
        await session.execute(_upsert_packs_statement(dialect), list(rows))


async def insert_logs(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await _insert_rows(session, ExecutionLog, _LOG_COLUMNS, _INSERT_LOG, rows)


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await _insert_rows(session, ExecutionEvent, EVENT_COLUMNS, _INSERT_EVENT, rows)


async def _insert_rows(
    session: AsyncSession,
    model: type[Base],
    columns: tuple[str, ...],
    row_by_row: Insert,
    rows: Sequence[dict[str, Any]],
) -> None:
    """One batch statement on PostgreSQL; `row_by_row` as an executemany elsewhere."""
    if not rows:
        return
    if is_postgres(session):
        await _insert_batch(session, model, columns, rows)
        return
    await session.execute(row_by_row, list(rows))


_DISCARDED_EVENTS = ("step", "log", PACKED_STEP_EVENTS)


async def discard_details(session: AsyncSession, execution_ids: Sequence[str]) -> None:
    """Delete the steps, log lines and their stream events (`step`, `log`) of these executions:
    what `save_data` does not keep. Their summaries and `execution`/`end` events stay."""
    if not execution_ids:
        return
    ids = list(execution_ids)
    await session.execute(delete(ExecutionStep).where(ExecutionStep.execution_id.in_(ids)))
    await session.execute(delete(ExecutionStepPack).where(ExecutionStepPack.execution_id.in_(ids)))
    await session.execute(delete(ExecutionLog).where(ExecutionLog.execution_id.in_(ids)))
    await session.execute(
        delete(ExecutionEvent).where(
            ExecutionEvent.execution_id.in_(ids), ExecutionEvent.type.in_(_DISCARDED_EVENTS)
        )
    )


async def save_data_of(session: AsyncSession, execution_ids: Sequence[str]) -> dict[str, str]:
    """What each of these executions keeps (`all`, `errors`, `none`), by execution id."""
    if not execution_ids:
        return {}
    stmt = select(Execution.id, _SAVE_DATA).where(Execution.id.in_(list(execution_ids)))
    return {str(row[0]): str(row[1] or "all") for row in (await session.execute(stmt)).all()}


async def finish(
    session: AsyncSession,
    execution_ids: Sequence[str],
    *,
    status: str,
    output: Any = None,
    error: Any = None,
    only_unfinished: bool = True,
) -> list[Execution]:
    """Record final status, output and error; failures mark the error flow as pending."""
    if not execution_ids:
        return []
    stmt = update(Execution).where(Execution.id.in_(list(execution_ids)))
    if only_unfinished:
        stmt = stmt.where(Execution.status.in_((ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)))
    stmt = (
        stmt.values(
            status=status,
            status_detail=None,
            output=output,
            error=error,
            finished_at=db_now(),
            error_flow_pending=status in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT),
            # Numbers of the `execution` and `end` events the caller appends.
            last_seq=Execution.last_seq + 2,
        )
        .returning(Execution)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return list((await session.scalars(stmt)).all())


async def release(
    session: AsyncSession, *, runner_id: str, execution_ids: Sequence[str]
) -> list[str]:
    """Unlease the rows this runner holds among `execution_ids`, claimable at once."""
    if not execution_ids:
        return []
    stmt = (
        update(QueueEntry)
        .where(
            QueueEntry.lease_owner == runner_id, QueueEntry.execution_id.in_(list(execution_ids))
        )
        .values(lease_owner=None, lease_expires_at=None, available_at=db_now())
        .returning(QueueEntry.execution_id)
    )
    return [str(value) for value in (await session.scalars(stmt)).all()]


async def mark_requeued(
    session: AsyncSession, execution_ids: Sequence[str], detail: str | None
) -> list[Execution]:
    if not execution_ids:
        return []
    stmt = (
        update(Execution)
        .where(Execution.id.in_(list(execution_ids)), Execution.status == ExecutionStatus.RUNNING)
        .values(
            status=ExecutionStatus.QUEUED,
            status_detail=detail,
            runner_id=None,
            queued_at=db_now(),
            last_seq=Execution.last_seq + 1,
        )
        .returning(Execution)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return list((await session.scalars(stmt)).all())
