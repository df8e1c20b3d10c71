"""All SQL of the executions domain.

Lock order, everywhere: a queue row before its execution row. Claims, completions, requeues
and cancellations all follow it, so PostgreSQL never has to break a deadlock between them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Insert,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
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

from flomation.db.base import Base, JSONDocument, JSONValue, UTCDateTime
from flomation.db.clock import db_now, db_now_plus
from flomation.db.driver import DriverStatement
from flomation.executions.notifier import CHANNEL, notify_payload
from flomation.models.auth import Organization
from flomation.models.executions import (
    FAILED,
    FINAL_STATUSES,
    QUEUED,
    RUNNING,
    TIMED_OUT,
    Execution,
    ExecutionEvent,
    ExecutionLog,
    ExecutionStep,
    QueueEntry,
)
from flomation.models.flows import Flow, FlowRevision

IDEMPOTENCY_WINDOW_S = 24 * 3600


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --------------------------------------------------------------------------- reading


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


async def executions_by_ids(session: AsyncSession, ids: Sequence[str]) -> list[Execution]:
    if not ids:
        return []
    stmt = select(Execution).where(Execution.id.in_(list(ids)))
    return list((await session.scalars(stmt.execution_options(populate_existing=True))).all())


async def list_steps(session: AsyncSession, execution_id: str) -> list[ExecutionStep]:
    stmt = (
        select(ExecutionStep)
        .where(ExecutionStep.execution_id == execution_id)
        .order_by(ExecutionStep.seq, ExecutionStep.step_key)
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
    *,
    flow_id: str | None,
    status: str | None,
    before_id: str | None,
    limit: int,
) -> list[Execution]:
    """Newest first (ids are time-ordered), `limit` rows after the cursor `before_id`."""
    stmt = select(Execution).where(Execution.organization_id == organization_id)
    if flow_id is not None:
        stmt = stmt.where(Execution.flow_id == flow_id)
    if status is not None:
        stmt = stmt.where(Execution.status == status)
    if before_id is not None:
        stmt = stmt.where(Execution.id < before_id)
    stmt = stmt.order_by(Execution.id.desc()).limit(limit)
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


async def events_after(
    session: AsyncSession, execution_id: str, after_seq: int, limit: int = 500
) -> list[ExecutionEvent]:
    stmt = (
        select(ExecutionEvent)
        .where(ExecutionEvent.execution_id == execution_id, ExecutionEvent.seq > after_seq)
        .order_by(ExecutionEvent.seq)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


# --------------------------------------------------------------------------- requesting


async def find_by_idempotency_key(
    session: AsyncSession, organization_id: str, key: str
) -> tuple[Execution, bool] | None:
    """The execution holding this key and whether it is still inside the 24 h window."""
    fresh = Execution.created_at > db_now_plus(-IDEMPOTENCY_WINDOW_S)
    stmt = select(Execution, fresh).where(
        Execution.organization_id == organization_id, Execution.idempotency_key == key
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], bool(row[1]))


async def release_idempotency_key(session: AsyncSession, execution_id: str) -> None:
    """An expired key is free again: the old execution lets go of it."""
    await session.execute(
        update(Execution).where(Execution.id == execution_id).values(idempotency_key=None)
    )


async def find_by_dedupe_key(session: AsyncSession, organization_id: str, key: str) -> str | None:
    stmt = select(Execution.id).where(
        Execution.organization_id == organization_id, Execution.dedupe_key == key
    )
    return (await session.scalars(stmt)).first()


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _column_values(model: type[Base], prefix: str) -> dict[str, Any]:
    """A bind parameter `<prefix>_<column>` for each column of `model`'s table, but the
    database's clock for the columns `_ON_THE_DATABASE_CLOCK` names."""
    table = _table(model)
    on_db_clock = _ON_THE_DATABASE_CLOCK.get(table.name, ())
    return {
        column.name: db_now()
        if column.name in on_db_clock
        else bindparam(f"{prefix}_{column.name}", type_=column.type)
        for column in table.c
    }


# A queue row is claimable from `available_at`, which every claim compares with the database's
# clock: taken from the API host's clock, a host a few milliseconds ahead of the database would
# leave a new execution unclaimable for the runner its commit wakes, until the next wake-up or
# the end of that runner's long poll.
_ON_THE_DATABASE_CLOCK = {"execution_queue": ("available_at",)}


def _insert_of_every_column(model: type[Base], prefix: str) -> Insert:
    """A Core insert of `model`'s table with a bind parameter `<prefix>_<column>` for each
    column: built once, so a request pays neither for building the statement nor for its
    cache key, and a row that misses a column is refused instead of silently defaulted."""
    return insert(_table(model)).values(_column_values(model, prefix))


_NEW_EXECUTION_ROWS = (
    ("e", _insert_of_every_column(Execution, "e")),
    ("q", _insert_of_every_column(QueueEntry, "q")),
    ("v", _insert_of_every_column(ExecutionEvent, "v")),
)


@dataclass(frozen=True, slots=True)
class RevisionGuard:
    """What the new execution was built from, when it came from a copy that may be stale:
    the flow must still be at this revision with this content, not archived, with this
    concurrency limit (the execution's own `flow_id`, `organization_id` and `revision`, and
    its queue row's `max_concurrent`, are the rest)."""

    content_hash: str


# The guard, over the bind parameters of the execution and its queue row.
_FLOW_STILL_AS_READ = (
    select(literal(1))
    .select_from(Flow)
    .join(
        FlowRevision,
        and_(FlowRevision.flow_id == Flow.id, FlowRevision.revision == Flow.current_revision),
    )
    .where(
        Flow.id == bindparam("e_flow_id"),
        Flow.organization_id == bindparam("e_organization_id"),
        Flow.current_revision == bindparam("e_revision"),
        Flow.archived_at.is_(None),
        Flow.max_concurrent_executions.is_not_distinct_from(
            bindparam("q_max_concurrent", type_=Integer())
        ),
        FlowRevision.content_hash == bindparam("g_content_hash"),
    )
    .exists()
)


def _insert_selected(
    model: type[Base], prefix: str, source: Any = None, where: Any = None
) -> Insert:
    """`_insert_of_every_column` as `INSERT ... SELECT`, so that a condition (`where`) or the
    rows of another statement (`source`: one row per row of it) decide whether it inserts."""
    table = _table(model)
    values = select(*(value.label(name) for name, value in _column_values(model, prefix).items()))
    if source is not None:
        values = values.select_from(source)
    if where is not None:
        values = values.where(where)
    return insert(table).from_select([c.name for c in table.c], values)


_GUARDED_EXECUTION = _insert_selected(Execution, "e", where=_FLOW_STILL_AS_READ)


@functools.cache
def _new_execution_statement(notifications: int, guarded: bool = False) -> DriverStatement:
    """PostgreSQL: the three inserts as data-modifying CTEs (the foreign keys accept them: they
    are checked at the end of the statement) selecting `notifications` pg_notify calls.
    Guarded: the queue row, the event and the notifications follow the execution's insert,
    which happens only when the guard holds; no row comes back when it did not."""
    notify = [
        func.pg_notify(bindparam("channel"), bindparam(f"topic_{n}")) for n in range(notifications)
    ]
    if not guarded:
        ctes = [statement.cte(f"insert_{prefix}") for prefix, statement in _NEW_EXECUTION_ROWS]
        return DriverStatement(select(*notify, literal(1)).add_cte(*ctes))
    execution = _GUARDED_EXECUTION.returning(_table(Execution).c.id).cte("insert_e")
    followers = [
        _insert_selected(model, prefix, source=execution).cte(f"insert_{prefix}")
        for prefix, model in (("q", QueueEntry), ("v", ExecutionEvent))
    ]
    return DriverStatement(
        select(*notify, literal(1)).select_from(execution).add_cte(execution, *followers)
    )


async def insert_queued_execution(
    session: AsyncSession,
    execution: dict[str, Any],
    queue_entry: dict[str, Any],
    first_event: dict[str, Any],
    *,
    notify: Sequence[str] = (),
    guard: RevisionGuard | None = None,
) -> bool:
    """A new execution, its queue row and its first event (seq 1: `last_seq` is inserted as
    1, so no `UPDATE ... RETURNING` numbers it), each given with every column's value.

    PostgreSQL: one statement that also sends the `notify` topics on the executions channel,
    so a request costs one round trip for all its writes. SQLite: three inserts, in-process.
    With a `guard`, nothing is written (and False returned) unless the flow is still as the
    execution was built from. Raises IntegrityError on a duplicate dedupe or idempotency key
    (the caller runs this in a savepoint when it sets one).
    """
    values = {"e": execution, "q": queue_entry, "v": first_event}
    params: dict[str, Any] = {}
    for prefix, row in values.items():
        params.update({f"{prefix}_{name}": value for name, value in row.items()})
    if guard is not None:
        params["g_content_hash"] = guard.content_hash
    if session.get_bind().dialect.name == "postgresql":
        params["channel"] = CHANNEL
        params.update({f"topic_{n}": notify_payload(topic) for n, topic in enumerate(notify)})
        rows = await _new_execution_statement(len(notify), guard is not None).fetch(session, params)
        return bool(rows)
    statements = [statement for _, statement in _NEW_EXECUTION_ROWS]
    if guard is not None:
        inserted = await session.execute(_GUARDED_EXECUTION, params)
        if getattr(inserted, "rowcount", 0) != 1:
            return False
        statements = statements[1:]
    for statement in statements:
        await session.execute(statement, params)
    return True


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


# --------------------------------------------------------------------------- claiming

_SQLITE_NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
_SQLITE_NOW_PLUS_LEASE = (
    "(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.3f seconds', CAST(:lease_s AS REAL)))"
    " || '000')"
)

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
_PG_LOCK_LIMITED_FLOWS = """
SELECT flow_id FROM (
    SELECT DISTINCT q.flow_id FROM execution_queue q
    WHERE q.organization_id = :organization_id
      AND q.lease_owner IS NULL
      AND q.max_concurrent IS NOT NULL
      AND q.available_at <= now()
      AND q.labels <@ CAST(:labels AS jsonb)
) AS limited
WHERE pg_try_advisory_xact_lock(hashtextextended('flomation.flow:' || flow_id, 0))
"""

# PostgreSQL, step 2: SELECT ... FOR UPDATE SKIP LOCKED feeding UPDATE ... RETURNING, one
# statement, so concurrent claimers never take the same row and never wait for each other.
_PG_CHOSEN = """
WITH candidates AS (
    SELECT q.execution_id, q.flow_id, q.available_at, q.max_concurrent
    FROM execution_queue q
    WHERE q.organization_id = :organization_id
      AND q.lease_owner IS NULL
      AND q.available_at <= now()
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

_PG_LEASE_CHOSEN = """
UPDATE execution_queue q
SET lease_owner = :runner_id,
    lease_expires_at = now() + make_interval(secs => CAST(:lease_s AS double precision)),
    attempt = q.attempt + 1
FROM chosen
WHERE q.execution_id = chosen.execution_id
RETURNING q.execution_id, q.lease_expires_at, q.attempt"""

_PG_CLAIM = _PG_CHOSEN + _PG_LEASE_CHOSEN

# The columns of each execution a claim starts: what its `execution` event and the runner's
# answer carry.
# An execution's columns as its summary (`ExecutionSummary`) shows them, after its id.
_SUMMARY_COLUMNS = (
    "flow_id",
    "revision",
    "status",
    "status_detail",
    "input",
    "output",
    "error",
    "trigger",
    "runs_on",
    "retry_of",
    "from_node",
    "parent_execution_id",
    "depth",
    "runner_id",
    "attempt",
    "queued_at",
    "started_at",
    "finished_at",
    "deadline_at",
    "cancel_requested_at",
)

_STARTED_COLUMNS = tuple(
    Execution.__table__.c[name]
    for name in (
        "id",
        *_SUMMARY_COLUMNS,
        "timeout_s",
        "prior_outputs",
        "recovery_error",
        "last_seq",
    )
)

# PostgreSQL: what `mark_claimed` does, as the last part of a statement whose CTEs chose and
# leased the queue rows (`leased`): the queue rows are locked before the execution rows, the
# lock order of every writer. `_PG_CLAIM_AND_START`: step 2 and this in one statement.
_PG_START_LEASED = (
    """
UPDATE executions e
SET status = :running,
    status_detail = NULL,
    runner_id = :runner_id,
    attempt = leased.attempt,
    started_at = now(),
    first_started_at = coalesce(e.first_started_at, now()),
    deadline_at = coalesce(
        e.deadline_at,
        CASE WHEN e.timeout_s IS NULL THEN NULL
             ELSE now() + make_interval(secs => CAST(e.timeout_s AS double precision)) END
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
_PG_LOCK_LIMITED_FLOWS_STATEMENT = text(_PG_LOCK_LIMITED_FLOWS).columns(flow_id=String())
_PG_CLAIM_STATEMENT = text(_PG_CLAIM).columns(**_CLAIMED_COLUMNS)
_SQLITE_CLAIM_STATEMENT = text(_SQLITE_CLAIM).columns(**_CLAIMED_COLUMNS)


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
    if _is_postgres(session):
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


def _mark_claimed_statement() -> Any:
    attempt = (
        select(QueueEntry.attempt).where(QueueEntry.execution_id == Execution.id).scalar_subquery()
    )
    deadline = case(
        (Execution.timeout_s.is_(None), literal(None, Execution.deadline_at.type)),
        else_=db_now_plus(Execution.__table__.c.timeout_s),
    )
    return (
        update(Execution)
        .where(Execution.id.in_(bindparam("b_ids", expanding=True)))
        .values(
            status=RUNNING,
            status_detail=None,
            runner_id=bindparam("b_runner_id"),
            attempt=attempt,
            started_at=db_now(),
            first_started_at=func.coalesce(Execution.first_started_at, db_now()),
            deadline_at=func.coalesce(Execution.deadline_at, deadline),
            # The number of the `execution` event the caller appends (`event_rows`).
            last_seq=Execution.last_seq + 1,
        )
        .returning(Execution)
        .execution_options(populate_existing=True, synchronize_session=False)
    )


_MARK_CLAIMED = _mark_claimed_statement()


async def mark_claimed(
    session: AsyncSession, execution_ids: Sequence[str], runner_id: str
) -> list[Execution]:
    """The claimed executions become `running` under this runner, the attempt of their queue
    row; the deadline is fixed at the first start and kept across attempts. One statement."""
    result = await session.scalars(
        _MARK_CLAIMED, {"b_ids": list(execution_ids), "b_runner_id": runner_id}
    )
    return list(result.all())


_EVENT_COLUMNS = ("execution_id", "seq", "type", "payload")
_INSERT_CLAIM_EVENT = _insert_of_every_column(ExecutionEvent, "v")


@functools.lru_cache(maxsize=64)
def _claim_events_statement(events: int, notifications: int) -> DriverStatement:
    """PostgreSQL: `events` event rows inserted as a data-modifying CTE, selecting
    `notifications` pg_notify calls: one round trip for a claim's events and wake-ups.

    Compiled here once per shape: SQLAlchemy never caches a multi-row VALUES insert, so
    through `session.execute` it would be compiled again on every claim."""
    table = _table(ExecutionEvent)
    rows = [
        {name: bindparam(f"v{i}_{name}", type_=table.c[name].type) for name in _EVENT_COLUMNS}
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
    if _is_postgres(session):
        params: dict[str, Any] = {"channel": CHANNEL}
        for i, row in enumerate(rows):
            params.update({f"v{i}_{name}": row[name] for name in _EVENT_COLUMNS})
        params.update({f"topic_{n}": notify_payload(topic) for n, topic in enumerate(notify)})
        await _claim_events_statement(len(rows), len(notify)).fetch(session, params)
        return
    await session.execute(
        _INSERT_CLAIM_EVENT, [{f"v_{name}": row[name] for name in _EVENT_COLUMNS} for row in rows]
    )


# PostgreSQL, the common case in one statement: when no flow with a concurrency limit has
# claimable work for this runner (`limited` in the same snapshot), there is no flow to lock nor
# running executions to count, and the oldest claimable rows are leased and started at once.
# Otherwise it claims nothing and says so (`limited_waiting`): then the two steps above run.
# One row always comes back, with null columns when nothing was started.
_PG_UNLIMITED_CLAIM_AND_START = (
    """
WITH limited AS (
    SELECT EXISTS (
        SELECT 1 FROM execution_queue l
        WHERE l.organization_id = :organization_id
          AND l.lease_owner IS NULL
          AND l.max_concurrent IS NOT NULL
          AND l.available_at <= now()
          AND l.labels <@ CAST(:labels AS jsonb)
    ) AS waiting
), chosen AS (
    SELECT q.execution_id
    FROM execution_queue q
    WHERE q.organization_id = :organization_id
      AND q.lease_owner IS NULL
      AND q.max_concurrent IS NULL
      AND q.available_at <= now()
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
    """`claim_queue_rows` and `mark_claimed` for a claim's hot path: the started executions
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
    if not _is_postgres(session):
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
        params["running"] = RUNNING
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
    return text(sql).columns(*_STARTED_COLUMNS, lease_expires_at=UTCDateTime())


async def _start_leased(
    session: AsyncSession, execution_ids: Sequence[str], runner_id: str
) -> list[Any]:
    """`mark_claimed` as a Core statement: the columns a claim needs, no ORM objects."""
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
            status=RUNNING,
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


# --------------------------------------------------------------------------- leases


async def renew(
    session: AsyncSession,
    *,
    runner_id: str,
    held: Sequence[tuple[str, int]],
    lease_seconds: float,
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


# The report path's statements, built once with bind parameters (see `_insert_of_every_column`).
_FENCE_AND_NUMBER = (
    update(Execution)
    .where(
        Execution.id == bindparam("f_id"),
        Execution.runner_id == bindparam("f_runner"),
        Execution.attempt == bindparam("f_attempt"),
        Execution.status == RUNNING,
    )
    .values(last_seq=Execution.last_seq + bindparam("f_count", type_=Integer))
    .returning(Execution.last_seq)
)

_TAKE_HELD_QUEUE_ROW = (
    delete(QueueEntry)
    .where(
        QueueEntry.execution_id == bindparam("t_id"),
        QueueEntry.lease_owner == bindparam("t_runner"),
        QueueEntry.attempt == bindparam("t_attempt"),
    )
    .returning(QueueEntry.max_concurrent)
)


async def fence_and_number(
    session: AsyncSession, *, runner_id: str, execution_id: str, attempt: int, count: int
) -> int | None:
    """Reserve `count` event numbers if this runner holds this attempt of the running
    execution; None (and nothing changed) otherwise. The row lock it takes orders writers."""
    params = {"f_id": execution_id, "f_runner": runner_id, "f_attempt": attempt, "f_count": count}
    value = (await session.execute(_FENCE_AND_NUMBER, params)).scalar_one_or_none()
    return None if value is None else int(value)


async def take_held_queue_row(
    session: AsyncSession, *, runner_id: str, execution_id: str, attempt: int
) -> tuple[bool, bool]:
    """Remove the queue row if this runner holds this attempt (the execution is ending).
    Returns (held, its flow has a concurrency limit)."""
    params = {"t_id": execution_id, "t_runner": runner_id, "t_attempt": attempt}
    row = (await session.execute(_TAKE_HELD_QUEUE_ROW, params)).first()
    return (False, False) if row is None else (True, row[0] is not None)


# --------------------------------------------------------------------------- a report batch
# A runner's report of several executions in a fixed number of statements, whatever its size.

_TAKE_HELD_QUEUE_ROWS = (
    delete(QueueEntry)
    .where(
        QueueEntry.lease_owner == bindparam("t_runner"),
        tuple_(QueueEntry.execution_id, QueueEntry.attempt).in_(
            bindparam("t_held", expanding=True)
        ),
    )
    .returning(QueueEntry.execution_id, QueueEntry.max_concurrent)
)


async def take_held_queue_rows(
    session: AsyncSession, *, runner_id: str, held: Sequence[tuple[str, int]]
) -> dict[str, bool]:
    """`take_held_queue_row` for many (execution, attempt) pairs in one statement: the ids of
    the rows removed, each with whether its flow has a concurrency limit."""
    if not held:
        return {}
    params = {"t_runner": runner_id, "t_held": list(held)}
    result = await session.execute(_TAKE_HELD_QUEUE_ROWS, params)
    return {str(row[0]): row[1] is not None for row in result.all()}


_STEPS_BY_KEYS = select(*_table(ExecutionStep).c).where(
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


# What a fence answers: the new last sequence number, and the summary of an ended execution.
FENCE_COLUMNS = ("id", "last_seq", "organization_id", *_SUMMARY_COLUMNS)
_EXECUTIONS = _table(Execution)

# PostgreSQL: the whole batch in one UPDATE over arrays of its items; each row that passes its
# fence sends its own wake-ups, so they cost no round trip of their own.
_PG_FENCE_BATCH = text(
    f"""
UPDATE executions AS e
SET last_seq = e.last_seq + v.count,
    status = CASE WHEN v.ends THEN v.status ELSE e.status END,
    status_detail = CASE WHEN v.ends THEN NULL ELSE e.status_detail END,
    output = CASE WHEN v.ends THEN CAST(v.output AS jsonb) ELSE e.output END,
    error = CASE WHEN v.ends THEN CAST(v.error AS jsonb) ELSE e.error END,
    finished_at = CASE WHEN v.ends THEN now() ELSE e.finished_at END,
    error_flow_pending = CASE
        WHEN v.ends THEN v.status IN ('{FAILED}', '{TIMED_OUT}') ELSE e.error_flow_pending END
FROM unnest(
    CAST(:ids AS varchar[]), CAST(:attempts AS integer[]), CAST(:counts AS integer[]),
    CAST(:stricts AS boolean[]), CAST(:ends AS boolean[]), CAST(:statuses AS varchar[]),
    CAST(:outputs AS text[]), CAST(:errors AS text[]), CAST(:wakes AS boolean[]),
    CAST(:frees AS boolean[])
) AS v(id, attempt, count, strict, ends, status, output, error, wakes, frees)
WHERE e.id = v.id
  AND CASE WHEN v.strict
      THEN e.runner_id = :runner_id AND e.attempt = v.attempt AND e.status = '{RUNNING}'
      ELSE e.status IN ('{QUEUED}', '{RUNNING}') END
RETURNING {", ".join(f"e.{name}" for name in FENCE_COLUMNS)},
    CASE WHEN v.wakes THEN pg_notify(:channel, :execution_prefix || e.id) END AS woke_stream,
    CASE WHEN v.frees THEN pg_notify(:channel, :work_prefix || e.organization_id) END
        AS woke_runners
"""
).columns(**{name: _EXECUTIONS.c[name].type for name in FENCE_COLUMNS})

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
                    Execution.status == RUNNING,
                ),
            ),
            else_=Execution.status.in_((QUEUED, RUNNING)),
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
    .returning(*(_EXECUTIONS.c[name] for name in FENCE_COLUMNS))
)


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
    passed their fence, each with its `FENCE_COLUMNS`. Row locks, as the per-item fence takes.
    PostgreSQL also sends the wake-ups (`<prefix><id>` on `channel`) of the rows that passed."""
    if not fences:
        return {}
    if _is_postgres(session):
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
        return {str(row["id"]): {name: row[name] for name in FENCE_COLUMNS} for row in rows}
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
            "u_pending": fence.status in (FAILED, TIMED_OUT),
        }
        row = (await session.execute(_SQLITE_FENCE_ONE, one)).mappings().first()
        if row is not None:
            passed[fence.execution_id] = dict(row)
    return passed


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
    table = _table(model)
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
        columns = ("execution_id", "step_key", "seq", *_STEP_COLUMNS)
        await _insert_batch(session, ExecutionStep, columns, rows, upsert=True)
        return
    await session.execute(_upsert_steps_statement(dialect), list(rows))


async def insert_logs(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await _insert_rows(session, ExecutionLog, _LOG_COLUMNS, _INSERT_LOG, rows)


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await _insert_rows(session, ExecutionEvent, _EVENT_COLUMNS, _INSERT_EVENT, rows)


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
    if _is_postgres(session):
        await _insert_batch(session, model, columns, rows)
        return
    await session.execute(row_by_row, list(rows))


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
        stmt = stmt.where(Execution.status.in_((QUEUED, RUNNING)))
    stmt = (
        stmt.values(
            status=status,
            status_detail=None,
            output=output,
            error=error,
            finished_at=db_now(),
            error_flow_pending=status in (FAILED, TIMED_OUT),
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
        .where(Execution.id.in_(list(execution_ids)), Execution.status == RUNNING)
        .values(
            status=QUEUED,
            status_detail=detail,
            runner_id=None,
            queued_at=db_now(),
            last_seq=Execution.last_seq + 1,
        )
        .returning(Execution)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return list((await session.scalars(stmt)).all())


# --------------------------------------------------------------------------- cancelling


async def remove_unleased_queue_row(session: AsyncSession, execution_id: str) -> bool:
    """Take a waiting execution off the queue (False when a runner holds it meanwhile)."""
    stmt = (
        delete(QueueEntry)
        .where(QueueEntry.execution_id == execution_id, QueueEntry.lease_owner.is_(None))
        .returning(QueueEntry.execution_id)
    )
    return (await session.execute(stmt)).first() is not None


async def lock_queue_row(session: AsyncSession, execution_id: str) -> QueueEntry | None:
    """The queue row, locked (PostgreSQL) so a claim cannot take it meanwhile."""
    stmt = select(QueueEntry).where(QueueEntry.execution_id == execution_id).with_for_update()
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def request_cancel(session: AsyncSession, execution_id: str) -> Execution | None:
    stmt = (
        update(Execution)
        .where(Execution.id == execution_id, Execution.status == RUNNING)
        .values(cancel_requested_at=func.coalesce(Execution.cancel_requested_at, db_now()))
        .returning(Execution)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return (await session.scalars(stmt)).first()


# --------------------------------------------------------------------------- maintenance


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
        Execution.status == RUNNING,
        Execution.cancel_requested_at.is_not(None),
        Execution.cancel_requested_at < db_now_plus(-grace_s),
    )
    return [str(value) for value in (await session.scalars(stmt)).all()]


async def overdue_deadlines(session: AsyncSession, margin_s: float) -> dict[str, int]:
    """Executions (running, or requeued after a first start) past deadline + margin, with
    their attempt."""
    stmt = select(Execution.id, Execution.attempt).where(
        Execution.status.in_((QUEUED, RUNNING)),
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
    for table in (ExecutionEvent, ExecutionLog, ExecutionStep):
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
        .where(QueueEntry.lease_owner.is_(None), Execution.status == QUEUED)
        .limit(5000)
    )
    return [(str(r[0]), str(r[1]), dict(r[2] or {}), r[3]) for r in (await session.execute(stmt))]


async def set_status_detail(
    session: AsyncSession, execution_ids: Sequence[str], detail: str | None
) -> None:
    if execution_ids:
        await session.execute(
            update(Execution)
            .where(Execution.id.in_(list(execution_ids)), Execution.status == QUEUED)
            .values(status_detail=detail)
        )


async def queue_depth_by_labels(session: AsyncSession) -> list[tuple[dict[str, Any], int]]:
    stmt = (
        select(QueueEntry.labels, func.count())
        .where(QueueEntry.lease_owner.is_(None))
        .group_by(QueueEntry.labels)
    )
    return [(dict(row[0] or {}), int(row[1])) for row in (await session.execute(stmt))]
