"""Launch firing triggers: applying what a source decided (the trigger's new state and the
executions it starts) and recording a failed poll. Services never commit: the caller owns the
transaction.

Firing is fenced: `apply_outcome` first writes the trigger's new state with a conditional
UPDATE (this owner, an unexpired lease on the database clock, the state version it read), and
only then requests the executions, in the same transaction. Each execution carries a dedupe key
unique per organisation, so even two instances that both believe they hold a trigger cannot
start the same run twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.backoff import exponential_delay_s
from flomation.errors import Conflict, NotFound, ValidationFailed
from flomation.triggers import repository, service
from flomation.triggers.schemas import Applied, EventResult, Fire, Outcome, TriggerWork

log = logging.getLogger("flomation.triggers")

# Exponential backoff for a failing source: interval x 2^errors, at most this long.
MAX_BACKOFF_S = 3600.0
FLOW_STOPPED = "The flow is archived or deleted; this trigger no longer fires"


async def execution_running(
    session: AsyncSession, *, organization_id: str, execution_id: str | None
) -> bool:
    """Whether a trigger's previous execution has not ended yet (queued or running)."""
    if execution_id is None:
        return False
    try:
        status = await service.execution_status(
            session, organization_id=organization_id, execution_id=execution_id
        )
    except NotFound:
        return False
    return not status.ended


def backoff_s(interval_s: float, errors: int) -> float:
    """How long a source that failed `errors` times in a row waits before its next poll."""
    return exponential_delay_s(interval_s, errors, MAX_BACKOFF_S)


async def record_error(
    session: AsyncSession,
    *,
    owner: str,
    work: TriggerWork,
    error: str,
    interval_s: float,
    now: datetime,
    lease_s: float | None = None,
) -> bool:
    """A failed poll: keep the cursor, note the error, try again after a growing delay."""
    errors = work.error_count + 1
    return await repository.advance_fenced(
        session,
        trigger_id=work.id,
        owner=owner,
        state_version=work.state_version,
        values={
            "last_error": error[:2000],
            "error_count": errors,
            "next_fire_at": now + timedelta(seconds=backoff_s(interval_s, errors)),
        },
        renew_s=lease_s,
    )


async def apply_outcome(
    session: AsyncSession,
    *,
    owner: str,
    work: TriggerWork,
    outcome: Outcome,
    lease_s: float | None = None,
) -> Applied | None:
    """Advance the trigger and start its executions in the caller's transaction.

    None when the fence refuses (the lease is gone or the state moved on): nothing fires.
    Executions the flow refuses (archived flow: the trigger stops; input the start node
    refuses: noted in last_error) do not undo the advance, so a bad slot is not retried
    forever. `lease_s` extends this owner's lease in the same write.
    """
    values: dict[str, Any] = {
        "cursor": outcome.cursor,
        "next_fire_at": outcome.next_fire_at,
        "last_error": outcome.error,
        "error_count": work.error_count + 1 if outcome.error else 0,
    }
    if outcome.fires and outcome.fired_at is not None:
        values["last_fired_at"] = outcome.fired_at
    fenced = await repository.advance_fenced(
        session,
        trigger_id=work.id,
        owner=owner,
        state_version=work.state_version,
        values=values,
        renew_s=lease_s,
    )
    if not fenced:
        return None
    started: list[str] = []
    duplicates = 0
    refused: list[str] = []
    stopped = False
    for fire in outcome.fires:
        trigger_data = {"type": work.type, "id": work.id, **fire.trigger_data}
        try:
            result = await service.start_execution(
                session,
                organization_id=work.organization_id,
                flow_id=work.flow_id,
                trigger=trigger_data,
                input=fire.input,
                dedupe_key=fire.dedupe_key,
            )
        except (NotFound, Conflict) as exc:
            # The flow is gone or archived: the trigger stops.
            refused.append(exc.detail)
            stopped = True
            break
        except ValidationFailed as exc:
            problems = "; ".join(str(item.get("msg")) for item in exc.errors or [])
            refused.append(f"The flow refused the input: {problems or exc.detail}")
            continue
        started.append(result.execution_id)
        duplicates += 0 if result.created else 1
    version = work.state_version + 1
    if started or refused:
        after: dict[str, Any] = {}
        if started and outcome.cursor is not None:
            after["cursor"] = {**outcome.cursor, "last_execution_id": started[-1]}
        if refused:
            after["last_error"] = FLOW_STOPPED if stopped else refused[-1]
        if stopped:
            after["next_fire_at"] = None
        if await repository.advance_fenced(
            session, trigger_id=work.id, owner=owner, state_version=version, values=after
        ):
            version += 1
    return Applied(
        execution_ids=started, duplicates=duplicates, refused=refused, state_version=version
    )


# --- event triggers -------------------------------------------------------------------------
# An event trigger's health and counters live in its cursor:
# {"healthy", "last_event_at", "events_total", "rejected_total"} (shown by `service.to_view`).


class Fenced(Exception):
    """This owner's lease is gone or the trigger was edited: the transaction must roll back
    (no execution starts) and the consumer stop without acknowledging."""


async def apply_event(
    session: AsyncSession,
    *,
    owner: str,
    work: TriggerWork,
    fire: Fire | None,
    rejected: str | None,
    now: datetime,
    lease_s: float | None = None,
) -> EventResult:
    """One message of an event trigger, in the caller's transaction: start its execution
    (deduplicated by `fire.dedupe_key`) or count it rejected (`rejected`: the consumer could
    not make an input of it; or the flow refused the input), then write the trigger's counters
    fenced. Raises `Fenced` when the fence refuses: the caller's transaction must roll back so
    that nothing starts. The caller acknowledges the message only after the commit."""
    execution_id: str | None = None
    duplicate = False
    stopped = False
    refused = rejected
    if fire is not None and refused is None:
        trigger_data = {"type": work.type, "id": work.id, **fire.trigger_data}
        try:
            result = await service.start_execution(
                session,
                organization_id=work.organization_id,
                flow_id=work.flow_id,
                trigger=trigger_data,
                input=fire.input,
                dedupe_key=fire.dedupe_key,
            )
        except (NotFound, Conflict) as exc:
            refused, stopped = exc.detail, True
        except ValidationFailed as exc:
            problems = "; ".join(str(item.get("msg")) for item in exc.errors or [])
            refused = f"The flow refused the input: {problems or exc.detail}"
        else:
            execution_id, duplicate = result.execution_id, not result.created
    cursor = dict(work.cursor or {})
    values: dict[str, Any] = {}
    if stopped:
        cursor["healthy"] = False
        values["last_error"] = FLOW_STOPPED
    elif refused is not None:
        cursor["rejected_total"] = int(cursor.get("rejected_total", 0)) + 1
        cursor["last_event_at"] = now.isoformat()
        values["last_error"] = refused[:2000]
    elif not duplicate:
        cursor["events_total"] = int(cursor.get("events_total", 0)) + 1
        cursor["last_event_at"] = now.isoformat()
        cursor["last_execution_id"] = execution_id
        values["last_fired_at"] = now
    values["cursor"] = cursor
    if not await repository.advance_fenced(
        session,
        trigger_id=work.id,
        owner=owner,
        state_version=work.state_version,
        values=values,
        renew_s=lease_s,
    ):
        raise Fenced(work.id)
    return EventResult(
        execution_id=execution_id,
        duplicate=duplicate,
        refused=refused,
        stopped=stopped,
        state_version=work.state_version + 1,
        cursor=cursor,
    )


async def record_health(
    session: AsyncSession,
    *,
    owner: str,
    work: TriggerWork,
    healthy: bool,
    error: str | None,
    now: datetime,
    lease_s: float | None = None,
) -> dict[str, Any] | None:
    """A consumer connected (healthy, errors cleared) or failed (the reason in last_error;
    `failing_since` notes when the failures began). Returns the new cursor, None when the
    fence refuses."""
    cursor = {**(work.cursor or {}), "healthy": healthy}
    values: dict[str, Any] = {"cursor": cursor}
    if healthy:
        cursor.pop("failing_since", None)
        values.update(last_error=None, error_count=0)
    else:
        cursor.setdefault("failing_since", now.isoformat())
        values.update(last_error=(error or "")[:2000], error_count=work.error_count + 1)
    ok = await repository.advance_fenced(
        session,
        trigger_id=work.id,
        owner=owner,
        state_version=work.state_version,
        values=values,
        renew_s=lease_s,
    )
    return cursor if ok else None


async def alert_unhealthy(
    session: AsyncSession,
    *,
    owner: str,
    work: TriggerWork,
    reason: str,
    incident: str,
    lease_s: float | None = None,
) -> dict[str, Any]:
    """The dead-man's switch fired: note the incident in the cursor (fenced; raises `Fenced`)
    and start the organisation's error flow with {"kind": "trigger_unhealthy", "trigger_id",
    "reason"}, once per incident (its dedupe key). Returns the new cursor."""
    cursor = {**(work.cursor or {}), "alerted": incident}
    if not await repository.advance_fenced(
        session,
        trigger_id=work.id,
        owner=owner,
        state_version=work.state_version,
        values={"cursor": cursor},
        renew_s=lease_s,
    ):
        raise Fenced(work.id)
    flow_id = await repository.error_flow_of(session, work.organization_id)
    if flow_id is None:
        return cursor
    try:
        await service.start_execution(
            session,
            organization_id=work.organization_id,
            flow_id=flow_id,
            trigger={"type": "trigger_unhealthy", "id": work.id},
            input={"kind": "trigger_unhealthy", "trigger_id": work.id, "reason": reason},
            dedupe_key=f"trigger_unhealthy:{work.id}:{incident}"[:300],
        )
    except (NotFound, Conflict, ValidationFailed) as exc:
        log.warning("trigger %s: the error flow was not started: %s", work.id, exc.detail)
    return cursor
