"""Statement-building helpers shared by the executions repository's modules."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.base import Base
from flomation.db.clock import db_now


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def column_values(model: type[Base], prefix: str) -> dict[str, Any]:
    """A bind parameter `<prefix>_<column>` for each column of `model`'s table, but the
    database's clock for the columns `ON_THE_DATABASE_CLOCK` names."""
    table = table_of(model)
    on_db_clock = ON_THE_DATABASE_CLOCK.get(table.name, ())
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
ON_THE_DATABASE_CLOCK = {"execution_queue": ("available_at",)}


def insert_of_every_column(model: type[Base], prefix: str) -> Insert:
    """A Core insert of `model`'s table with a bind parameter `<prefix>_<column>` for each
    column: built once, so a request pays neither for building the statement nor for its
    cache key, and a row that misses a column is refused instead of silently defaulted."""
    return insert(table_of(model)).values(column_values(model, prefix))


def insert_selected(
    model: type[Base], prefix: str, source: Any = None, where: Any = None
) -> Insert:
    """`insert_of_every_column` as `INSERT ... SELECT`, so that a condition (`where`) or the
    rows of another statement (`source`: one row per row of it) decide whether it inserts."""
    table = table_of(model)
    values = select(*(value.label(name) for name, value in column_values(model, prefix).items()))
    if source is not None:
        values = values.select_from(source)
    if where is not None:
        values = values.where(where)
    return insert(table).from_select([c.name for c in table.c], values)


# An execution's columns as its summary (`ExecutionSummary`) shows them, after its id.
SUMMARY_COLUMNS = (
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

# The columns of an `execution_events` row.
EVENT_COLUMNS = ("execution_id", "seq", "type", "payload")

# The stored type of a run of `step` events of packed steps (`ExecutionStepPack`): one row at
# the last event's number, whose payload is `{"steps": [{"seq", "data"}, ...]}`; readers of
# the stream (`queries.events_after`) see each as the `step` event it stands for.
PACKED_STEP_EVENTS = "steps"
