"""Queueing a new execution: its rows in one statement, and the keys that make a request
idempotent or deduplicated."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.clock import db_now_plus
from flomation.db.driver import DriverStatement
from flomation.executions.notifier import CHANNEL, notify_payload
from flomation.executions.repository._sql import insert_of_every_column, insert_selected, table_of
from flomation.models.executions import Execution, ExecutionEvent, QueueEntry
from flomation.models.flows import Flow, FlowRevision

IDEMPOTENCY_WINDOW_S = 24 * 3600


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


_NEW_EXECUTION_ROWS = (
    ("e", insert_of_every_column(Execution, "e")),
    ("q", insert_of_every_column(QueueEntry, "q")),
    ("v", insert_of_every_column(ExecutionEvent, "v")),
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


_GUARDED_EXECUTION = insert_selected(Execution, "e", where=_FLOW_STILL_AS_READ)


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
    execution = _GUARDED_EXECUTION.returning(table_of(Execution).c.id).cte("insert_e")
    followers = [
        insert_selected(model, prefix, source=execution).cte(f"insert_{prefix}")
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
