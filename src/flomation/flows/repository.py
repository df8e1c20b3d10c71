"""All SQL of the flows domain. Every query on flows is scoped by organisation.

Revisions are append-only: there is an insert and there are reads, never an update or a
delete of a revision. The current revision only moves through `advance_revision`, a
conditional update that succeeds for exactly one of several saves on the same base.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.db.driver import DriverStatement
from flomation.models.auth import User
from flomation.models.flows import Flow, FlowRevision
from flomation.pagination import PageParams, keyset


class RevisionTaken(Exception):
    """Another save already wrote this revision number (the unique key refused ours)."""


@dataclass(frozen=True, slots=True)
class RevisionListing:
    """A revision without its definition, with its author's display name when known."""

    revision: int
    author_id: str | None
    author_name: str | None
    message: str | None
    created_at: datetime
    content_hash: str


async def insert_flow(
    session: AsyncSession,
    *,
    organization_id: str,
    name: str,
    description: str,
    runs_on: dict[str, Any],
    created_by: str | None,
) -> Flow:
    """A new flow at revision 1 (the caller inserts revision 1 in the same transaction)."""
    flow = Flow(
        organization_id=organization_id,
        name=name,
        description=description,
        current_revision=1,
        runs_on=runs_on,
        created_by=created_by,
    )
    session.add(flow)
    await session.flush()
    return flow


async def insert_revision(
    session: AsyncSession,
    *,
    flow_id: str,
    revision: int,
    definition: dict[str, Any],
    content_hash: str,
    author_id: str | None,
    message: str | None,
) -> FlowRevision:
    values = {
        "flow_id": flow_id,
        "revision": revision,
        "definition": definition,
        "content_hash": content_hash,
        "author_id": author_id,
        "message": message,
        "created_at": utcnow(),
    }
    try:
        row = (
            await session.execute(insert(FlowRevision).values(values).returning(FlowRevision))
        ).scalar_one()
    except IntegrityError as exc:
        raise RevisionTaken(f"flow {flow_id} already has revision {revision}") from exc
    return row


async def advance_revision(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    base_revision: int,
    runs_on: dict[str, Any],
    name: str | None = None,
    description: str | None = None,
) -> Flow | None:
    """Move an active flow from `base_revision` to the next one; None when the flow is not
    there, archived, or no longer at `base_revision` (the caller finds out which).

    On PostgreSQL a concurrent save waits for the row lock and then re-checks the condition,
    on SQLite writers are serialised: either way only one save per base gets a row back.
    """
    values: dict[str, Any] = {
        "current_revision": base_revision + 1,
        "runs_on": runs_on,
        "updated_at": utcnow(),
    }
    if name is not None:
        values["name"] = name
    if description is not None:
        values["description"] = description
    stmt = (
        update(Flow)
        .where(
            Flow.id == flow_id,
            Flow.organization_id == organization_id,
            Flow.current_revision == base_revision,
            Flow.archived_at.is_(None),
        )
        .values(values)
        .returning(Flow)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def update_flow_fields(
    session: AsyncSession, *, organization_id: str, flow_id: str, values: dict[str, Any]
) -> Flow | None:
    """Change fields that need no new revision on an active flow; None when there is none."""
    stmt = (
        update(Flow)
        .where(
            Flow.id == flow_id,
            Flow.organization_id == organization_id,
            Flow.archived_at.is_(None),
        )
        .values({**values, "updated_at": utcnow()})
        .returning(Flow)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def archive_flow(session: AsyncSession, *, organization_id: str, flow_id: str) -> None:
    """Set `archived_at` once; archiving an archived flow keeps the first date."""
    now = utcnow()
    await session.execute(
        update(Flow)
        .where(
            Flow.id == flow_id,
            Flow.organization_id == organization_id,
            Flow.archived_at.is_(None),
        )
        .values(archived_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def get_flow(session: AsyncSession, *, organization_id: str, flow_id: str) -> Flow | None:
    stmt = select(Flow).where(Flow.id == flow_id, Flow.organization_id == organization_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def _flow_and_revision(revision: Any) -> Select[Flow, FlowRevision]:
    return (
        select(Flow, FlowRevision)
        .join(FlowRevision, FlowRevision.flow_id == Flow.id)
        .where(
            Flow.id == bindparam("flow_id"),
            Flow.organization_id == bindparam("organization_id"),
            FlowRevision.revision == revision,
        )
    )


# Read on every execution request and flow view: built once, not per call.
_FLOW_AT_CURRENT_REVISION = _flow_and_revision(Flow.current_revision)
_FLOW_AT_REVISION = _flow_and_revision(bindparam("revision"))


def _runnable_columns(revision: Any) -> Select[Any]:
    return (
        select(
            Flow.id,
            Flow.organization_id,
            Flow.name,
            FlowRevision.revision,
            Flow.current_revision,
            FlowRevision.definition,
            FlowRevision.content_hash,
            Flow.archived_at,
            Flow.max_concurrent_executions,
        )
        .join(FlowRevision, FlowRevision.flow_id == Flow.id)
        .where(
            Flow.id == bindparam("flow_id"),
            Flow.organization_id == bindparam("organization_id"),
            FlowRevision.revision == revision,
        )
    )


# What running a flow needs (every execution request reads it): columns, no ORM objects.
_RUNNABLE_AT_CURRENT_REVISION = DriverStatement(_runnable_columns(Flow.current_revision))
_RUNNABLE_AT_REVISION = DriverStatement(_runnable_columns(bindparam("revision")))


async def runnable_revision(
    session: AsyncSession, *, organization_id: str, flow_id: str, revision: int | None
) -> tuple[Any, ...] | None:
    """(flow id, organisation id, name, revision, current revision, definition, content hash,
    archived at, max concurrent executions) of the flow at `revision` (None: its current)."""
    params: dict[str, Any] = {"flow_id": flow_id, "organization_id": organization_id}
    if revision is None:
        row = await _RUNNABLE_AT_CURRENT_REVISION.first(session, params)
    else:
        params["revision"] = revision
        row = await _RUNNABLE_AT_REVISION.first(session, params)
    return None if row is None else tuple(row)


async def get_flow_and_revision(
    session: AsyncSession, *, organization_id: str, flow_id: str, revision: int | None
) -> tuple[Flow, FlowRevision] | None:
    """The flow with one of its revisions (its current one when `revision` is None)."""
    params: dict[str, Any] = {"flow_id": flow_id, "organization_id": organization_id}
    if revision is None:
        row = (await session.execute(_FLOW_AT_CURRENT_REVISION, params)).first()
    else:
        row = (await session.execute(_FLOW_AT_REVISION, {**params, "revision": revision})).first()
    return None if row is None else (row[0], row[1])


async def get_revisions(
    session: AsyncSession, *, organization_id: str, flow_id: str, revisions: Collection[int]
) -> dict[int, FlowRevision]:
    stmt = (
        select(FlowRevision)
        .join(Flow, Flow.id == FlowRevision.flow_id)
        .where(
            Flow.id == flow_id,
            Flow.organization_id == organization_id,
            FlowRevision.revision.in_(list(revisions)),
        )
    )
    return {row.revision: row for row in (await session.execute(stmt)).scalars()}


async def list_flows(
    session: AsyncSession,
    *,
    organization_id: str,
    page: PageParams[str],
    name_contains: str | None,
    include_archived: bool,
) -> list[Flow]:
    """Newest first (ids are time-ordered), one more than the page asks."""
    stmt = select(Flow).where(Flow.organization_id == organization_id)
    if not include_archived:
        stmt = stmt.where(Flow.archived_at.is_(None))
    if name_contains:
        stmt = stmt.where(Flow.name.icontains(name_contains, autoescape=True))
    stmt = keyset(stmt, Flow.id, page, descending=True)
    return list((await session.execute(stmt)).scalars())


async def list_revisions(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    page: PageParams[int],
) -> list[RevisionListing]:
    """Newest first, without definitions, one more than the page asks."""
    stmt = (
        select(
            FlowRevision.revision,
            FlowRevision.author_id,
            User.name,
            FlowRevision.message,
            FlowRevision.created_at,
            FlowRevision.content_hash,
        )
        .join(Flow, Flow.id == FlowRevision.flow_id)
        .outerjoin(User, User.id == FlowRevision.author_id)
        .where(Flow.id == flow_id, Flow.organization_id == organization_id)
    )
    stmt = keyset(stmt, FlowRevision.revision, page, descending=True)
    return [RevisionListing(*row) for row in (await session.execute(stmt)).all()]


async def author_name(session: AsyncSession, user_id: str) -> str | None:
    stmt = select(User.name).where(User.id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def flow_exists(session: AsyncSession, *, organization_id: str, flow_id: str) -> bool:
    stmt = select(Flow.id).where(Flow.id == flow_id, Flow.organization_id == organization_id)
    return (await session.execute(stmt)).first() is not None


async def list_active_flow_ids(
    session: AsyncSession, *, organization_id: str, flow_ids: Collection[str] | None
) -> list[str]:
    stmt = select(Flow.id).where(
        Flow.organization_id == organization_id, Flow.archived_at.is_(None)
    )
    if flow_ids is not None:
        stmt = stmt.where(Flow.id.in_(list(flow_ids)))
    return list((await session.execute(stmt.order_by(Flow.id))).scalars())


async def current_definitions(
    session: AsyncSession, *, organization_id: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """`(id, name, definition)` of the current revision of every flow that is not archived."""
    stmt = (
        select(Flow.id, Flow.name, FlowRevision.definition)
        .join(
            FlowRevision,
            (FlowRevision.flow_id == Flow.id) & (FlowRevision.revision == Flow.current_revision),
        )
        .where(Flow.organization_id == organization_id, Flow.archived_at.is_(None))
        .order_by(Flow.name, Flow.id)
    )
    return [
        (str(row.id), str(row.name), row.definition) for row in (await session.execute(stmt)).all()
    ]
