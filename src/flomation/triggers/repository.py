"""All SQL of the triggers domain: triggers, their leases, and the Launch instances' heartbeats.

Lease times are on the database clock (`db_now`), never a host's. The claim is one statement on
both backends: PostgreSQL locks the candidate rows with FOR UPDATE SKIP LOCKED so concurrent
instances take disjoint sets; SQLite serialises writers (BEGIN IMMEDIATE) and ignores the lock
clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.clock import db_now, db_now_plus
from flomation.models.auth import Organization
from flomation.models.executions import Execution
from flomation.models.triggers import LaunchInstance, Trigger
from flomation.protocol.statuses import ExecutionStatus
from flomation.triggers.config import EVENT_TYPES

# Webhooks are served by the API itself; Launch runs the polling and timed kinds, and the
# event kinds' consumers.
LAUNCH_TYPES = ("schedule", "s3", "git", *EVENT_TYPES)


class PathTaken(Exception):
    """The webhook path is used by another trigger (of any organisation)."""


# --- API side -------------------------------------------------------------------------------


async def insert_trigger(session: AsyncSession, trigger: Trigger) -> Trigger:
    """Insert in a savepoint so a unique-path race answers PathTaken, not an aborted
    transaction."""
    try:
        async with session.begin_nested():
            session.add(trigger)
            await session.flush()
    except IntegrityError as exc:
        raise PathTaken from exc
    return trigger


async def save_trigger(session: AsyncSession, trigger: Trigger) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise PathTaken from exc


async def webhook_path_taken(
    session: AsyncSession, path: str, *, except_id: str | None = None
) -> bool:
    stmt = select(Trigger.id).where(Trigger.webhook_path == path)
    if except_id is not None:
        stmt = stmt.where(Trigger.id != except_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def get_trigger(
    session: AsyncSession, organization_id: str, trigger_id: str
) -> Trigger | None:
    stmt = select(Trigger).where(
        Trigger.id == trigger_id, Trigger.organization_id == organization_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_flow_triggers(
    session: AsyncSession,
    organization_id: str,
    flow_id: str,
    *,
    after_id: str | None,
    limit: int,
) -> Sequence[Trigger]:
    stmt = select(Trigger).where(
        Trigger.organization_id == organization_id, Trigger.flow_id == flow_id
    )
    if after_id is not None:
        stmt = stmt.where(Trigger.id > after_id)
    stmt = stmt.order_by(Trigger.id).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def delete_trigger(session: AsyncSession, trigger: Trigger) -> None:
    await session.delete(trigger)
    await session.flush()


async def find_webhook(session: AsyncSession, path: str) -> Trigger | None:
    stmt = select(Trigger).where(Trigger.webhook_path == path, Trigger.type == "webhook")
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_form(session: AsyncSession, path: str) -> Trigger | None:
    stmt = select(Trigger).where(Trigger.webhook_path == f"form:{path}", Trigger.type == "form")
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_event(
    session: AsyncSession, trigger_id: str, at: datetime, *, rejected: bool
) -> None:
    """Count one event (accepted or rejected) in the trigger's cursor, where event triggers
    keep their counters. The row is locked first (PostgreSQL; SQLite serialises writers), so
    concurrent events never lose a count."""
    stmt = select(Trigger.cursor).where(Trigger.id == trigger_id).with_for_update()
    row = (await session.execute(stmt)).first()
    if row is None:
        return
    cursor = dict(row[0] or {})
    key = "rejected_total" if rejected else "events_total"
    cursor[key] = int(cursor.get(key) or 0) + 1
    cursor["last_event_at"] = at.isoformat()
    values: dict[str, Any] = {"cursor": cursor}
    if not rejected:
        values["last_fired_at"] = at
    await session.execute(
        update(Trigger)
        .where(Trigger.id == trigger_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def touch_fired(session: AsyncSession, trigger_id: str, at: datetime) -> None:
    await session.execute(update(Trigger).where(Trigger.id == trigger_id).values(last_fired_at=at))


# --- Launch instances -----------------------------------------------------------------------


async def heartbeat_instance(session: AsyncSession, owner: str, ttl_s: float) -> None:
    """Insert or extend this instance's heartbeat; prune instances long gone."""
    values: dict[str, Any] = {"owner": owner, "expires_at": db_now_plus(ttl_s)}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(LaunchInstance).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LaunchInstance.owner], set_={"expires_at": db_now_plus(ttl_s)}
    )
    await session.execute(stmt)
    await session.execute(
        delete(LaunchInstance).where(LaunchInstance.expires_at < db_now_plus(-10 * ttl_s))
    )


async def remove_instance(session: AsyncSession, owner: str) -> None:
    await session.execute(delete(LaunchInstance).where(LaunchInstance.owner == owner))


async def count_live_instances(session: AsyncSession) -> int:
    stmt = (
        select(func.count()).select_from(LaunchInstance).where(LaunchInstance.expires_at > db_now())
    )
    return int((await session.execute(stmt)).scalar_one())


# --- Leases ---------------------------------------------------------------------------------


def _claimable() -> Any:
    return and_(
        Trigger.enabled.is_(True),
        Trigger.type.in_(LAUNCH_TYPES),
        or_(Trigger.lease_owner.is_(None), Trigger.lease_expires_at <= db_now()),
    )


async def count_launch_triggers(session: AsyncSession) -> int:
    stmt = (
        select(func.count())
        .select_from(Trigger)
        .where(Trigger.enabled.is_(True), Trigger.type.in_(LAUNCH_TYPES))
    )
    return int((await session.execute(stmt)).scalar_one())


async def renew_leases(session: AsyncSession, owner: str, ttl_s: float) -> list[str]:
    """Extend the leases this owner still holds; returns every trigger it holds now.

    Rows locked by another transaction at this moment (this instance firing one of them) are
    skipped rather than waited for: a renewal must never wait in a chain of row locks (two
    instances' transactions see `now()` at different instants, so their views of which
    leases are valid can briefly cross). A skipped lease is renewed on the next pass, well
    before it expires (passes run every TTL/3).
    """
    valid = and_(Trigger.lease_owner == owner, Trigger.lease_expires_at > db_now())
    unlocked = (
        select(Trigger.id).where(valid).order_by(Trigger.id).with_for_update(skip_locked=True)
    )
    await session.execute(
        update(Trigger)
        .where(Trigger.id.in_(unlocked), valid)
        .values(lease_expires_at=db_now_plus(ttl_s))
        .execution_options(synchronize_session=False)
    )
    held = select(Trigger.id).where(valid).order_by(Trigger.id)
    return list((await session.execute(held)).scalars().all())


async def claim_triggers(session: AsyncSession, owner: str, ttl_s: float, limit: int) -> list[str]:
    """Take up to `limit` unleased (or expired) triggers in one statement."""
    if limit <= 0:
        return []
    candidates = (
        select(Trigger.id)
        .where(_claimable())
        .order_by(Trigger.next_fire_at.asc().nulls_first(), Trigger.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(Trigger)
        .where(Trigger.id.in_(candidates), _claimable())
        .values(lease_owner=owner, lease_expires_at=db_now_plus(ttl_s))
        .returning(Trigger.id)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(stmt)).scalars().all())


async def release_leases(session: AsyncSession, owner: str, ids: Sequence[str] | None) -> None:
    """Give triggers back (all this owner holds when `ids` is None) so others take them now.

    A partial release (rebalancing) skips rows being fired right now; a full release (the
    instance is stopping, nothing of its own is running any more) takes them all."""
    mine = Trigger.lease_owner == owner
    if ids is not None:
        chosen = (
            select(Trigger.id)
            .where(mine, Trigger.id.in_(list(ids)))
            .order_by(Trigger.id)
            .with_for_update(skip_locked=True)
        )
        where = and_(mine, Trigger.id.in_(chosen))
    else:
        where = mine
    await session.execute(
        update(Trigger)
        .where(where)
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


async def held_ids(session: AsyncSession, owner: str) -> list[str]:
    stmt = select(Trigger.id).where(
        Trigger.lease_owner == owner, Trigger.lease_expires_at > db_now()
    )
    return list((await session.execute(stmt.order_by(Trigger.id))).scalars().all())


async def held_ids_latest_first(session: AsyncSession, owner: str, limit: int) -> list[str]:
    """The held triggers due last: the ones to hand over when holding more than a fair share."""
    stmt = (
        select(Trigger.id)
        .where(Trigger.lease_owner == owner)
        .order_by(Trigger.next_fire_at.desc().nulls_first(), Trigger.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars().all())


async def held_due(
    session: AsyncSession, owner: str, now: datetime, limit: int
) -> Sequence[Trigger]:
    stmt = (
        select(Trigger)
        .where(
            Trigger.lease_owner == owner,
            Trigger.lease_expires_at > db_now(),
            Trigger.enabled.is_(True),
            Trigger.next_fire_at.is_not(None),
            Trigger.next_fire_at <= now,
        )
        .order_by(Trigger.next_fire_at)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def held_next_fire(session: AsyncSession, owner: str) -> datetime | None:
    stmt = select(func.min(Trigger.next_fire_at)).where(
        Trigger.lease_owner == owner, Trigger.enabled.is_(True)
    )
    value = (await session.execute(stmt)).scalar_one_or_none()
    if isinstance(value, str):  # SQLite aggregates lose the column type
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


async def advance_fenced(
    session: AsyncSession,
    *,
    trigger_id: str,
    owner: str,
    state_version: int,
    values: dict[str, Any],
    renew_s: float | None = None,
) -> bool:
    """Write a trigger's new firing state only if this owner still holds an unexpired lease and
    nobody changed the state since it was read. False means: do not fire.

    With `renew_s` the lease is extended too: the lease pass skips rows locked by a fire in
    progress, so the fire renews its own trigger."""
    if renew_s is not None:
        values = {**values, "lease_expires_at": db_now_plus(renew_s)}
    stmt = (
        update(Trigger)
        .where(
            Trigger.id == trigger_id,
            Trigger.lease_owner == owner,
            Trigger.lease_expires_at > db_now(),
            Trigger.state_version == state_version,
        )
        .values(**values, state_version=Trigger.state_version + 1)
        .returning(Trigger.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).first() is not None


# --- event triggers -------------------------------------------------------------------------


async def held_event_triggers(session: AsyncSession, owner: str) -> Sequence[Trigger]:
    """The enabled event triggers this owner holds an unexpired lease on."""
    stmt = (
        select(Trigger)
        .where(
            Trigger.lease_owner == owner,
            Trigger.lease_expires_at > db_now(),
            Trigger.enabled.is_(True),
            Trigger.type.in_(EVENT_TYPES),
        )
        .order_by(Trigger.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def count_unfinished(session: AsyncSession, organization_id: str, flow_id: str) -> int:
    """A flow's executions that are queued or running (what its concurrency limit counts)."""
    stmt = (
        select(func.count())
        .select_from(Execution)
        .where(
            Execution.organization_id == organization_id,
            Execution.flow_id == flow_id,
            Execution.status.in_([ExecutionStatus.QUEUED, ExecutionStatus.RUNNING]),
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def error_flow_of(session: AsyncSession, organization_id: str) -> str | None:
    stmt = select(Organization.error_flow_id).where(Organization.id == organization_id)
    return (await session.execute(stmt)).scalar_one_or_none()
