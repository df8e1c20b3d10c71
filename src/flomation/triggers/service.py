"""Rules of the triggers domain, for the API (CRUD, webhook ingress) and for Launch (leases,
firing). Services never commit: the caller owns the transaction.

Firing is fenced: `apply_outcome` first writes the trigger's new state with a conditional
UPDATE (this owner, an unexpired lease on the database clock, the state version it read), and
only then requests the executions, in the same transaction. Each execution carries a dedupe key
unique per organisation, so even two instances that both believe they hold a trigger cannot
start the same run twice.
"""

from __future__ import annotations

import logging
import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.errors import Conflict, NotFound, ValidationFailed
from flomation.executions import requests as execution_requests
from flomation.executions import views as execution_views
from flomation.executions.errors import DuplicateExecution
from flomation.executions.notifier import HUB, Subscription, execution_topic
from flomation.flows import service as flows
from flomation.models.triggers import Trigger
from flomation.secrets import service as secrets
from flomation.secrets.crypto import Keyring
from flomation.timeutil import isoformat, utcnow
from flomation.triggers import repository
from flomation.triggers.config import (
    GitConfig,
    S3Config,
    ScheduleConfig,
    TriggerConfig,
    WebhookConfig,
    check_git_egress,
    parse_config,
)
from flomation.triggers.cron import CronSchedule
from flomation.triggers.schemas import (
    Applied,
    ExecutionStatus,
    Outcome,
    TriggerCreate,
    TriggerOut,
    TriggerState,
    TriggerUpdate,
    TriggerWork,
    WebhookTarget,
)

log = logging.getLogger("flomation.triggers")

# Exponential backoff for a failing source: interval x 2^errors, at most this long.
MAX_BACKOFF_S = 3600.0
FLOW_STOPPED = "The flow is archived or deleted; this trigger no longer fires"


# --- views ----------------------------------------------------------------------------------


def to_view(trigger: Trigger) -> TriggerOut:
    config = trigger.config
    public = False
    hook_path = None
    if trigger.type == "webhook":
        hook_path = f"/hooks/{trigger.webhook_path}"
        auth = config.get("auth") or {}
        public = not (auth.get("hmac_secret") or auth.get("token"))
    return TriggerOut(
        id=trigger.id,
        flow_id=trigger.flow_id,
        type=trigger.type,
        config=config,
        enabled=trigger.enabled,
        public=public,
        hook_url_path=hook_path,
        created_at=trigger.created_at,
        updated_at=trigger.updated_at,
        state=TriggerState(
            last_fired_at=trigger.last_fired_at,
            next_fire_at=trigger.next_fire_at,
            cursor=trigger.cursor,
            owner=trigger.lease_owner,
            lease_expires_at=trigger.lease_expires_at,
            last_error=trigger.last_error,
            error_count=trigger.error_count,
        ),
    )


def _not_found(trigger_id: str) -> NotFound:
    return NotFound(f"No trigger {trigger_id} in your organisation")


def _path_conflict(path: str) -> Conflict:
    return Conflict(f"The webhook path '{path}' is already in use; choose another one")


# --- API: create, read, update, delete ------------------------------------------------------


def initial_state(config: TriggerConfig, now: datetime) -> dict[str, Any]:
    """The firing state of a new (or re-configured, or re-enabled) trigger.

    A schedule starts counting from now (no slot before `now` fires). S3 and Git triggers are
    due at once with no cursor: their first poll records what exists as the baseline.
    """
    if isinstance(config, ScheduleConfig):
        schedule = CronSchedule(config.cron, config.timezone)
        return {
            "cursor": {"last_slot": isoformat(now)},
            "next_fire_at": schedule.next_after(now),
        }
    if isinstance(config, S3Config | GitConfig):
        return {"cursor": None, "next_fire_at": now}
    return {"cursor": None, "next_fire_at": None}


def _dump(config: TriggerConfig) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude_none=True)


async def _require_flow(session: AsyncSession, organization_id: str, flow_id: str) -> None:
    if not await flows.flow_exists(session, organization_id, flow_id):
        raise NotFound(f"No flow {flow_id} in your organisation")


async def create_trigger(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    body: TriggerCreate,
    now: datetime | None = None,
    allow_local_git: bool = False,
) -> TriggerOut:
    """`allow_local_git`: the operator's FLOMATION_LAUNCH_ALLOW_LOCAL_GIT (file:// Git URLs)."""
    now = now or utcnow()
    await _require_flow(session, organization_id, flow_id)
    flow = await flows.get_flow_revision(session, organization_id, flow_id)
    if flow.archived_at is not None:
        raise Conflict("The flow is archived: it takes no new triggers")
    config = parse_config(body.type, body.config)
    check_git_egress(config, allow_local_git=allow_local_git)
    path = config.path if isinstance(config, WebhookConfig) else None
    if path is not None and await repository.webhook_path_taken(session, path):
        raise _path_conflict(path)
    state = initial_state(config, now) if body.enabled else {"cursor": None, "next_fire_at": None}
    trigger = Trigger(
        organization_id=organization_id,
        flow_id=flow_id,
        type=body.type,
        config=_dump(config),
        enabled=body.enabled,
        webhook_path=path,
        created_at=now,
        updated_at=now,
        **state,
    )
    try:
        await repository.insert_trigger(session, trigger)
    except repository.PathTaken:
        raise _path_conflict(path or "") from None
    return to_view(trigger)


async def list_triggers(
    session: AsyncSession, *, organization_id: str, flow_id: str, after_id: str | None, limit: int
) -> list[TriggerOut]:
    """A flow's triggers in id order, after `after_id`; at most `limit`."""
    await _require_flow(session, organization_id, flow_id)
    rows = await repository.list_flow_triggers(
        session, organization_id, flow_id, after_id=after_id, limit=limit
    )
    return [to_view(row) for row in rows]


async def _get(session: AsyncSession, organization_id: str, trigger_id: str) -> Trigger:
    if len(trigger_id) > 64:
        raise _not_found(trigger_id[:64])
    trigger = await repository.get_trigger(session, organization_id, trigger_id)
    if trigger is None:
        raise _not_found(trigger_id)
    return trigger


async def get_trigger(
    session: AsyncSession, *, organization_id: str, trigger_id: str
) -> TriggerOut:
    return to_view(await _get(session, organization_id, trigger_id))


def _source_changed(old: dict[str, Any], new: TriggerConfig) -> bool:
    """Whether the thing watched changed, so the old cursor means nothing any more."""
    keys: tuple[str, ...] = ()
    if isinstance(new, S3Config):
        keys = ("bucket", "prefix", "endpoint_url", "region")
    elif isinstance(new, GitConfig):
        keys = ("url", "branch")
    dumped = _dump(new)
    return any(old.get(key) != dumped.get(key) for key in keys)


async def update_trigger(
    session: AsyncSession,
    *,
    organization_id: str,
    trigger_id: str,
    body: TriggerUpdate,
    now: datetime | None = None,
    allow_local_git: bool = False,
) -> TriggerOut:
    """Apply a partial update. A schedule's next fire is recomputed from now whenever its
    config changes or it is enabled; an S3/Git trigger whose source changed, or that is enabled
    again, records a new baseline. Errors are cleared: the user changed something."""
    now = now or utcnow()
    trigger = await _get(session, organization_id, trigger_id)
    config = parse_config(trigger.type, body.config if body.config is not None else trigger.config)
    check_git_egress(config, allow_local_git=allow_local_git)
    enabled = trigger.enabled if body.enabled is None else body.enabled
    was_enabled = trigger.enabled
    if isinstance(config, WebhookConfig) and config.path != trigger.webhook_path:
        if await repository.webhook_path_taken(session, config.path, except_id=trigger.id):
            raise _path_conflict(config.path)
        trigger.webhook_path = config.path
    reset = enabled and (
        not was_enabled
        or (isinstance(config, ScheduleConfig) and body.config is not None)
        or _source_changed(trigger.config, config)
    )
    trigger.config = _dump(config)
    trigger.enabled = enabled
    trigger.updated_at = now
    trigger.last_error = None
    trigger.error_count = 0
    if reset:
        state = initial_state(config, now)
        trigger.cursor = state["cursor"]
        trigger.next_fire_at = state["next_fire_at"]
    elif not enabled:
        trigger.next_fire_at = None
    elif isinstance(config, S3Config | GitConfig) and trigger.next_fire_at is None:
        trigger.next_fire_at = now
    # Incremented in SQL: an edit racing a fire never writes back a version number the fire
    # already used, so a Launch pass that read the old state is always refused.
    trigger.state_version = Trigger.state_version + 1
    try:
        await repository.save_trigger(session, trigger)
    except repository.PathTaken:
        raise _path_conflict(trigger.webhook_path or "") from None
    return to_view(trigger)


async def delete_trigger(session: AsyncSession, *, organization_id: str, trigger_id: str) -> None:
    await repository.delete_trigger(session, await _get(session, organization_id, trigger_id))


# --- webhook ingress ------------------------------------------------------------------------


async def find_webhook(session: AsyncSession, path: str) -> WebhookTarget | None:
    trigger = await repository.find_webhook(session, path)
    if trigger is None:
        return None
    return WebhookTarget(
        id=trigger.id,
        organization_id=trigger.organization_id,
        flow_id=trigger.flow_id,
        enabled=trigger.enabled,
        config=WebhookConfig.model_validate(trigger.config),
    )


async def secret_value(
    session: AsyncSession, organization_id: str, name: str, *, keyring: Keyring | None = None
) -> str | None:
    """A secret's value for webhook auth and S3/Git credentials (None when it is not set)."""
    return await secrets.get_secret_value(session, organization_id, name, keyring=keyring)


@dataclass(frozen=True)
class Started:
    execution_id: str
    created: bool


async def start_execution(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    trigger: dict[str, Any],
    input: Any,
    dedupe_key: str | None,
) -> Started:
    """Request one execution; a repeated dedupe key answers the execution it started first.
    The request runs in a savepoint so a duplicate leaves the caller's transaction usable."""
    try:
        async with session.begin_nested():
            view = await execution_requests.request_execution(
                session,
                organization_id=organization_id,
                flow_id=flow_id,
                input=input,
                trigger=trigger,
                dedupe_key=dedupe_key,
            )
    except DuplicateExecution as exc:
        return Started(execution_id=exc.execution_id, created=False)
    return Started(execution_id=view.id, created=True)


def watch_execution(execution_id: str) -> AbstractContextManager[Subscription]:
    """Be woken when the execution changes (in this process, after the writer's commit)."""
    return HUB.subscribe([execution_topic(execution_id)])


async def record_webhook_fired(session: AsyncSession, trigger_id: str, at: datetime) -> None:
    await repository.touch_fired(session, trigger_id, at)


async def execution_status(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> ExecutionStatus:
    view = await execution_views.get_summary(
        session, organization_id=organization_id, execution_id=execution_id
    )
    return ExecutionStatus(id=view.id, status=view.status, output=view.output, error=view.error)


# --- Launch: instances and leases -----------------------------------------------------------


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


async def execution_running(
    session: AsyncSession, *, organization_id: str, execution_id: str | None
) -> bool:
    """Whether a trigger's previous execution has not ended yet (queued or running)."""
    if execution_id is None:
        return False
    try:
        status = await execution_status(
            session, organization_id=organization_id, execution_id=execution_id
        )
    except NotFound:
        return False
    return not status.ended


def backoff_s(interval_s: float, errors: int) -> float:
    return float(min(MAX_BACKOFF_S, interval_s * 2 ** min(errors, 20)))


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
            result = await start_execution(
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
