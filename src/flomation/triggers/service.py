"""Rules of the triggers domain for the API: create, read, update and delete triggers, and
what the webhook ingress needs (finding a webhook, starting and watching its execution).
Launch's side (leases, firing) is in `leases` and `firing`, which start executions through
`start_execution` here. Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.connections import service as connections
from flomation.errors import Conflict, NotFound, ValidationFailed
from flomation.executions import requests as execution_requests
from flomation.executions import views as execution_views
from flomation.executions.errors import DuplicateExecution
from flomation.executions.notifier import HUB, Subscription, execution_topic
from flomation.flows import service as flows
from flomation.models.triggers import Trigger
from flomation.protocol import ClaimedConnection
from flomation.secrets import service as secrets
from flomation.secrets.crypto import Keyring
from flomation.timeutil import isoformat
from flomation.triggers import repository
from flomation.triggers.config import (
    EVENT_CONNECTION_TYPES,
    EventConfig,
    FormConfig,
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
    ExecutionState,
    TriggerCreate,
    TriggerOut,
    TriggerState,
    TriggerUpdate,
    WebhookTarget,
)

# --- views ----------------------------------------------------------------------------------


def to_view(trigger: Trigger) -> TriggerOut:
    config = trigger.config
    public = False
    hook_path = None
    if trigger.type == "webhook":
        hook_path = f"/hooks/{trigger.webhook_path}"
        auth = config.get("auth") or {}
        public = not (auth.get("hmac_secret") or auth.get("token"))
    elif trigger.type == "form":
        # Forms are public by design: anyone with the URL may submit (see triggers.forms).
        hook_path = f"/forms/{config.get('path', '')}"
        public = True
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
            **form_state(trigger.type, trigger.cursor),
            **event_state(trigger.type, trigger.cursor),
        ),
    )


def form_state(trigger_type: str, cursor: dict[str, Any] | None) -> dict[str, Any]:
    """A form's counters, kept in its cursor as event triggers keep theirs (`count_event`);
    a form is always healthy: the API serves it, nothing can disconnect."""
    if trigger_type != "form":
        return {}
    cursor = cursor or {}
    return {
        "healthy": True,
        "last_event_at": cursor.get("last_event_at"),
        "events_total": int(cursor.get("events_total") or 0),
        "rejected_total": int(cursor.get("rejected_total") or 0),
    }


def event_state(trigger_type: str, cursor: dict[str, Any] | None) -> dict[str, Any]:
    """An event trigger's health and counters, kept in its cursor (see `firing.apply_event`);
    nothing for the other types."""
    if trigger_type not in EVENT_CONNECTION_TYPES:
        return {}
    cursor = cursor or {}
    return {
        "healthy": bool(cursor.get("healthy", False)),
        "last_event_at": cursor.get("last_event_at"),
        "events_total": int(cursor.get("events_total", 0)),
        "rejected_total": int(cursor.get("rejected_total", 0)),
    }


async def _check_connection(
    session: AsyncSession, organization_id: str, trigger_type: str, config: TriggerConfig
) -> None:
    """An event trigger's connection must exist and be of its type, as a node's must."""
    if not isinstance(config, EventConfig):
        return
    wanted = EVENT_CONNECTION_TYPES[trigger_type]
    found = (await connections.types_by_name(session, organization_id)).get(config.connection)
    if found == wanted:
        return
    msg = (
        f"no connection named '{config.connection}' in your organisation"
        if found is None
        else f"the connection '{config.connection}' is of type {found}, not {wanted}"
    )
    raise ValidationFailed(
        "The trigger's connection is not usable",
        errors=[{"loc": ["body", "config", "connection"], "msg": msg}],
    )


def _not_found(trigger_id: str) -> NotFound:
    return NotFound(f"No trigger {trigger_id} in your organisation")


def _path_conflict(path: str) -> Conflict:
    if path.startswith("form:"):
        return Conflict(f"The form path '{path[5:]}' is already in use; choose another one")
    return Conflict(f"The webhook path '{path}' is already in use; choose another one")


def _reserved_path(config: TriggerConfig) -> str | None:
    """The trigger's key in the unique public-path column (webhooks and forms), or None."""
    if isinstance(config, WebhookConfig):
        return config.path
    if isinstance(config, FormConfig):
        return config.reserved_path
    return None


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
    return config.model_dump(mode="json", exclude_none=True, by_alias=True)


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
    await _check_connection(session, organization_id, body.type, config)
    path = _reserved_path(config)
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
    if body.config is not None:
        await _check_connection(session, organization_id, trigger.type, config)
    enabled = trigger.enabled if body.enabled is None else body.enabled
    was_enabled = trigger.enabled
    path = _reserved_path(config)
    if path is not None and path != trigger.webhook_path:
        if await repository.webhook_path_taken(session, path, except_id=trigger.id):
            raise _path_conflict(path)
        trigger.webhook_path = path
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
    if reset and not isinstance(config, FormConfig):  # a form's cursor holds its counters
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


async def find_form(session: AsyncSession, path: str) -> WebhookTarget | None:
    """The form trigger at `/forms/{path}` (any organisation: form paths are one namespace)."""
    trigger = await repository.find_form(session, path)
    if trigger is None:
        return None
    return WebhookTarget(
        id=trigger.id,
        organization_id=trigger.organization_id,
        flow_id=trigger.flow_id,
        enabled=trigger.enabled,
        config=FormConfig.model_validate(trigger.config),
    )


async def record_event(
    session: AsyncSession, trigger_id: str, at: datetime, *, rejected: bool
) -> None:
    """Count an event trigger's accepted or rejected event in its state."""
    await repository.count_event(session, trigger_id, at, rejected=rejected)


def watch_execution(execution_id: str) -> AbstractContextManager[Subscription]:
    """Be woken when the execution changes (in this process, after the writer's commit)."""
    return HUB.subscribe([execution_topic(execution_id)])


async def record_webhook_fired(session: AsyncSession, trigger_id: str, at: datetime) -> None:
    await repository.touch_fired(session, trigger_id, at)


# --- executions and secrets, for the webhook ingress and Launch -----------------------------


async def secret_value(
    session: AsyncSession, organization_id: str, name: str, *, keyring: Keyring | None = None
) -> str | None:
    """A secret's value for webhook auth and S3/Git credentials (None when it is not set)."""
    return await secrets.get_secret_value(session, organization_id, name, keyring=keyring)


async def connection_for_launch(
    session: AsyncSession, organization_id: str, name: str, *, keyring: Keyring | None = None
) -> ClaimedConnection | None:
    """An event trigger's connection in clear, for its consumer in Launch (None: not set)."""
    found = await connections.resolve_for_runner(session, organization_id, [name], keyring=keyring)
    return found.get(name)


async def flow_has_room(session: AsyncSession, *, organization_id: str, flow_id: str) -> bool:
    """Whether the flow may take one more execution under its `max_concurrent_executions`
    (queued and running ones count): event consumers stop taking messages while it is full."""
    try:
        flow = await flows.get_flow_revision(session, organization_id, flow_id)
    except NotFound:
        return True  # the start refuses it and says why
    limit = flow.max_concurrent_executions
    if limit is None:
        return True
    return await repository.count_unfinished(session, organization_id, flow_id) < limit


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
    savepoint: bool = True,
) -> Started:
    """Request one execution; a repeated dedupe key answers the execution it started first.
    The request runs in a savepoint so a duplicate leaves the caller's transaction usable;
    a caller whose transaction holds nothing else (a webhook) spares it (`savepoint=False`):
    a duplicate is found before any write, or inside the request's own keyed savepoint."""
    try:
        async with session.begin_nested() if savepoint else nullcontext():
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


async def execution_status(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> ExecutionState:
    view = await execution_views.get_summary(
        session, organization_id=organization_id, execution_id=execution_id
    )
    return ExecutionState(id=view.id, status=view.status, output=view.output, error=view.error)
