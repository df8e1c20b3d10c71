"""Launch instances and their leases on triggers: how instances divide the timed and polling
triggers among themselves, and which of the held ones are due. Services never commit: the
caller owns the transaction.

Lease times are on the database clock, so instances on hosts whose clocks disagree still agree
on who holds what.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.errors import ValidationFailed
from flomation.triggers import repository
from flomation.triggers.config import parse_config
from flomation.triggers.schemas import TriggerWork

log = logging.getLogger("flomation.triggers")


async def balance_leases(
    session: AsyncSession, *, owner: str, ttl_s: float, claim_batch: int
) -> list[str]:
    """One lease pass for a Launch instance: heartbeat, renew what it holds, then take its fair
    share of the rest (at most `claim_batch` per pass) or hand back what it holds beyond it.

    The fair share is ceil(triggers / live instances), counted on the database, so instances
    divide the triggers with no coordinator and a new instance gets a share within a pass or
    two. Returns the ids held after the pass.
    """
    await repository.heartbeat_instance(session, owner, ttl_s)
    held = await repository.renew_leases(session, owner, ttl_s)
    total = await repository.count_launch_triggers(session)
    live = max(1, await repository.count_live_instances(session))
    fair = math.ceil(total / live)
    if len(held) > fair:
        excess = await repository.held_ids_latest_first(session, owner, len(held) - fair)
        await repository.release_leases(session, owner, excess)
        return await repository.held_ids(session, owner)
    claimed = await repository.claim_triggers(
        session, owner, ttl_s, min(claim_batch, fair - len(held))
    )
    return held + claimed


async def leave(session: AsyncSession, *, owner: str) -> None:
    """An instance shutting down: release every lease so others take over at once."""
    await repository.release_leases(session, owner, None)
    await repository.remove_instance(session, owner)


async def due_work(
    session: AsyncSession, *, owner: str, now: datetime, limit: int = 200
) -> list[TriggerWork]:
    """The held triggers whose next fire (or poll) time has come by `now` (Launch's clock)."""
    rows = await repository.held_due(session, owner, now, limit)
    work: list[TriggerWork] = []
    for row in rows:
        try:
            config = parse_config(row.type, row.config)
        except ValidationFailed:
            # A stored config this version cannot read (written by another version): one
            # trigger is skipped and says why; the others go on.
            log.warning("trigger %s has a config this version cannot read; skipped", row.id)
            row.last_error = "The stored config is not valid for this version; edit the trigger"
            row.next_fire_at = None
            continue
        work.append(
            TriggerWork(
                id=row.id,
                organization_id=row.organization_id,
                flow_id=row.flow_id,
                type=row.type,
                config=config,
                cursor=row.cursor,
                next_fire_at=row.next_fire_at,
                error_count=row.error_count,
                state_version=row.state_version,
            )
        )
    return work


async def next_due_at(session: AsyncSession, *, owner: str) -> datetime | None:
    return await repository.held_next_fire(session, owner)


async def held_event_work(session: AsyncSession, *, owner: str) -> list[TriggerWork]:
    """The event triggers this owner holds: each gets one consumer while it holds it."""
    work: list[TriggerWork] = []
    for row in await repository.held_event_triggers(session, owner):
        try:
            config = parse_config(row.type, row.config)
        except ValidationFailed:
            log.warning("trigger %s has a config this version cannot read; skipped", row.id)
            continue
        work.append(
            TriggerWork(
                id=row.id,
                organization_id=row.organization_id,
                flow_id=row.flow_id,
                type=row.type,
                config=config,
                cursor=row.cursor,
                next_fire_at=None,
                error_count=row.error_count,
                state_version=row.state_version,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
        )
    return work
