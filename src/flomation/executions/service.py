"""Rules of the executions domain: requesting, claiming, leasing, recording and ending
executions. Called by the API endpoints, the runners domain, the triggers domain and Launch.

Every function takes an `AsyncSession` whose transaction the caller owns; none commits.
Waiting runners are woken after the caller's commit (PostgreSQL: `pg_notify` inside the
transaction; both: an after-commit hook that wakes this process's waiters).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.session import is_autocommit
from flomation.engine.nodes.flow import check_input
from flomation.engine.validation import referenced_names
from flomation.errors import Conflict, FlomationError, NotFound, ValidationFailed
from flomation.executions import metrics
from flomation.executions.errors import DuplicateExecution, StaleAttempt
from flomation.executions.notifier import (
    CHANNEL,
    execution_topic,
    notify_payload,
    publish_after_commit,
    runner_topic,
    stage_after_commit,
    unstaged,
    work_topic,
)
from flomation.executions.repository import actions as actions_repository
from flomation.executions.repository import claims as claims_repository
from flomation.executions.repository import maintenance as maintenance_repository
from flomation.executions.repository import queries as queries_repository
from flomation.executions.repository import reports as reports_repository
from flomation.executions.repository import requests as requests_repository
from flomation.executions.schemas import (
    CancelAccepted,
    ClaimedExecution,
    ExecutionSummary,
    ExecutionView,
    FinalStatus,
    LeaseRenewal,
    LogView,
    StepView,
)
from flomation.flows import service as flows_service
from flomation.ids import new_id
from flomation.models.executions import (
    CANCELLED,
    FAILED,
    FINAL_STATUSES,
    QUEUED,
    RUNNING,
    Execution,
    ExecutionLog,
    ExecutionStep,
)
from flomation.secrets import service as secrets_service
from flomation.secrets.crypto import Keyring
from flomation.sized_lru import SizedLRU, json_bytes
from flomation.timeutil import utcnow

__all__ = [
    "DuplicateExecution",
    "ItemByItem",
    "Report",
    "StaleAttempt",
    "cancel_execution",
    "claim_executions",
    "complete_execution",
    "get_execution",
    "list_executions",
    "record_events",
    "record_reports",
    "release_executions",
    "renew_leases",
    "request_execution",
    "request_execution_once",
    "retry_execution",
]

MAX_DEPTH = 10


# --------------------------------------------------------------------------- views


def summary(execution: Execution) -> ExecutionSummary:
    return ExecutionSummary(
        id=execution.id,
        flow_id=execution.flow_id,
        revision=execution.revision,
        status=execution.status,
        status_detail=execution.status_detail,
        input=execution.input,
        output=execution.output,
        error=execution.error,
        trigger=execution.trigger,
        runs_on=execution.runs_on or {},
        retry_of=execution.retry_of,
        from_node=execution.from_node,
        parent_execution_id=execution.parent_execution_id,
        depth=execution.depth,
        runner_id=execution.runner_id,
        attempt=execution.attempt,
        queued_at=execution.queued_at,
        started_at=execution.started_at,
        finished_at=execution.finished_at,
        deadline_at=execution.deadline_at,
        cancel_requested_at=execution.cancel_requested_at,
    )


def step_view(step: ExecutionStep) -> StepView:
    return StepView(
        node_id=step.node_id,
        status=step.status,
        visit=step.visit,
        iteration=step.iteration,
        attempts=step.attempts,
        input=step.input,
        output=step.output,
        error=step.error,
        port=step.port,
        reused=step.reused,
        started_at=step.started_at,
        finished_at=step.finished_at,
    )


def log_view(log: ExecutionLog) -> LogView:
    return LogView(
        seq=log.seq, at=log.at, node_id=log.node_id, level=log.level, message=log.message
    )


def _event_payload(execution: Execution) -> dict[str, Any]:
    return summary(execution).model_dump(mode="json")


def _event_row(execution: Execution, seq: int, kind: str, payload: Any) -> dict[str, Any]:
    return {"execution_id": execution.id, "seq": seq, "type": kind, "payload": payload}


async def _full_view(session: AsyncSession, execution: Execution) -> ExecutionView:
    steps = await queries_repository.list_steps(session, execution.id)
    logs = await queries_repository.list_logs(session, execution.id)
    return ExecutionView(
        **summary(execution).model_dump(),
        steps=[step_view(s) for s in steps],
        logs=[log_view(log) for log in logs],
    )


async def get_execution(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> ExecutionView:
    """The execution with its steps and logs; `NotFound` for an unknown id or another
    organisation's."""
    execution = await _get(session, organization_id, execution_id)
    return await _full_view(session, execution)


async def get_summary(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> ExecutionSummary:
    return summary(await _get(session, organization_id, execution_id))


async def _get(session: AsyncSession, organization_id: str, execution_id: str) -> Execution:
    execution = await queries_repository.get_execution(session, organization_id, execution_id)
    if execution is None:
        raise NotFound(f"No execution {execution_id}")
    return execution


async def list_executions(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str | None = None,
    status: str | None = None,
    before_id: str | None = None,
    limit: int = 50,
) -> list[ExecutionSummary]:
    """Newest first; `limit` items after the cursor (the last id of the previous page)."""
    rows = await queries_repository.list_executions(
        session,
        organization_id,
        flow_id=flow_id,
        status=status,
        before_id=before_id,
        limit=limit,
    )
    return [summary(row) for row in rows]


# --------------------------------------------------------------------------- requesting


@dataclass(frozen=True, slots=True)
class _Asked:
    """An execution request, as `request_execution_once` takes it (less the revision)."""

    organization_id: str
    flow_id: str
    input: Any
    trigger: dict[str, Any]
    runs_on: dict[str, str] | None
    idempotency_key: str | None
    request_hash: str | None
    dedupe_key: str | None
    retry_of: str | None
    from_node: str | None
    parent_execution_id: str | None
    depth: int


async def request_execution(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    input: Any,
    trigger: dict[str, Any],
    revision: int | None = None,
    runs_on: dict[str, str] | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    dedupe_key: str | None = None,
    retry_of: str | None = None,
    from_node: str | None = None,
    parent_execution_id: str | None = None,
    depth: int = 0,
) -> ExecutionView:
    """Queue an execution of a flow (its current revision unless `revision` is given).

    - `input` is checked against the start node's `input_schema`: `ValidationFailed` (422)
      listing every problem, nothing queued.
    - An archived flow: `Conflict` (409). Unknown flow or revision: `NotFound`.
    - `runs_on` adds labels to the flow's own `runs_on`; it may not change a flow label
      (`ValidationFailed`).
    - `idempotency_key` + `request_hash`: the same key within 24 h returns the execution made
      by the first request when the hash matches, and raises `Conflict` when it differs
      (`request_execution_once` also says whether this call created it).
    - `dedupe_key` (unique per organisation, kept forever): a second request with the same
      key raises `DuplicateExecution` carrying the existing id; nothing changes.
    - `retry_of` + `from_node`: the outputs of the retried execution's succeeded steps that
      come before `from_node` are stored for the runner to reuse.
    """
    view, _created = await request_execution_once(
        session,
        organization_id=organization_id,
        flow_id=flow_id,
        input=input,
        trigger=trigger,
        revision=revision,
        runs_on=runs_on,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        dedupe_key=dedupe_key,
        retry_of=retry_of,
        from_node=from_node,
        parent_execution_id=parent_execution_id,
        depth=depth,
    )
    return view


async def request_execution_once(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    input: Any,
    trigger: dict[str, Any],
    revision: int | None = None,
    runs_on: dict[str, str] | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    dedupe_key: str | None = None,
    retry_of: str | None = None,
    from_node: str | None = None,
    parent_execution_id: str | None = None,
    depth: int = 0,
) -> tuple[ExecutionView, bool]:
    """`request_execution`, also answering whether this call created the execution (False
    when an earlier request with the same idempotency key did)."""
    if idempotency_key is not None:
        earlier = await _idempotent_replay(session, organization_id, idempotency_key, request_hash)
        if earlier is not None:
            return earlier, False
    if dedupe_key is not None:
        existing = await requests_repository.find_by_dedupe_key(
            session, organization_id, dedupe_key
        )
        if existing is not None:
            raise DuplicateExecution(existing, dedupe_key)
    if depth > MAX_DEPTH:
        raise ValidationFailed(
            f"Subflows nest at most {MAX_DEPTH} deep",
            errors=[{"loc": ["depth"], "msg": f"at most {MAX_DEPTH}"}],
        )

    asked = _Asked(
        organization_id=organization_id,
        flow_id=flow_id,
        input=input,
        trigger=trigger,
        runs_on=runs_on,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        dedupe_key=dedupe_key,
        retry_of=retry_of,
        from_node=from_node,
        parent_execution_id=parent_execution_id,
        depth=depth,
    )
    if revision is None:
        cached = flows_service.cached_current_revision(organization_id, flow_id)
        if cached is not None:
            queued = await _queue(session, asked, cached, guarded=True)
            if queued is not None:
                return queued
            # Another process moved the flow on (a new revision, archived, a new limit).
            flows_service.forget_current_revision(organization_id, flow_id)
    flow = await flows_service.get_flow_revision(session, organization_id, flow_id, revision)
    queued = await _queue(session, asked, flow, guarded=False)
    assert queued is not None  # only a guarded insert can come back empty
    return queued


async def _queue(
    session: AsyncSession, asked: _Asked, flow: flows_service.FlowRevisionView, *, guarded: bool
) -> tuple[ExecutionView, bool] | None:
    """Queue `asked` at `flow`'s revision. `guarded`: `flow` is this process's copy, which may
    be stale; the insert then writes only if the flow is still as the copy says, and None
    means it was not (nothing written, nothing staged)."""
    organization_id, flow_id = asked.organization_id, asked.flow_id
    idempotency_key, dedupe_key = asked.idempotency_key, asked.dedupe_key
    retry_of, from_node = asked.retry_of, asked.from_node
    if flow.archived_at is not None:
        raise Conflict(f"Flow {flow_id} is archived: it takes no new executions")
    definition: dict[str, Any] = dict(flow.definition)
    _check_input(definition, asked.input)
    labels = _merge_labels(dict(flow.runs_on), asked.runs_on or {})
    prior_outputs = None
    if from_node is not None:
        if retry_of is None:
            raise ValidationFailed(
                "from_node is only for retries",
                errors=[{"loc": ["body", "from_node"], "msg": "only with a retry"}],
            )
        prior_outputs = await _outputs_before(session, definition, retry_of, from_node)
    timeout = definition.get("timeout_s")

    now = utcnow()
    execution = {
        "id": new_id(),
        "organization_id": organization_id,
        "flow_id": flow_id,
        "revision": flow.revision,
        "status": QUEUED,
        "status_detail": await _waiting_detail(session, organization_id, labels),
        "input": asked.input,
        "output": None,
        "error": None,
        "trigger": asked.trigger,
        "runs_on": labels,
        "timeout_s": float(timeout) if isinstance(timeout, int | float) else None,
        "retry_of": retry_of,
        "from_node": from_node,
        "prior_outputs": prior_outputs,
        "parent_execution_id": asked.parent_execution_id,
        "depth": asked.depth,
        "attempt": 0,
        "runner_losses": 0,
        "recovery_error": None,
        "runner_id": None,
        "dedupe_key": dedupe_key,
        "idempotency_key": idempotency_key,
        "request_hash": asked.request_hash,
        "last_seq": 1,  # its `execution` event, inserted with it
        "error_flow_pending": False,
        "created_at": now,
        "queued_at": now,
        "started_at": None,
        "first_started_at": None,
        "deadline_at": None,
        "finished_at": None,
        "cancel_requested_at": None,
    }
    entry = {
        "execution_id": execution["id"],
        "organization_id": organization_id,
        "flow_id": flow_id,
        "labels": labels,
        "max_concurrent": flow.max_concurrent_executions,
        "lease_owner": None,
        "lease_expires_at": None,
        "attempt": 0,
        # available_at: the database's clock, at the insert (see the repository)
    }
    view = ExecutionView.model_validate(execution)
    payload = view.model_dump(mode="json", exclude={"steps", "logs"})
    first_event = {
        "execution_id": execution["id"],
        "seq": 1,
        "type": "execution",
        "payload": payload,
    }
    # Waiters in this process are woken at commit; PostgreSQL's are notified by the insert itself.
    topics = (work_topic(organization_id), execution_topic(execution["id"]))
    notify = unstaged(session, *topics)
    # A key can collide with a concurrent request's: in a transaction, a savepoint keeps the
    # failed insert from sinking it. Without keys, or statement by statement, none is needed.
    keyed = idempotency_key is not None or dedupe_key is not None
    savepoint = session.begin_nested() if keyed and not is_autocommit(session) else nullcontext()
    try:
        async with savepoint:
            inserted = await requests_repository.insert_queued_execution(
                session,
                execution,
                entry,
                first_event,
                notify=notify,
                guard=requests_repository.RevisionGuard(flow.content_hash) if guarded else None,
            )
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as if it came first.
        if idempotency_key is not None:
            earlier = await _idempotent_replay(
                session, organization_id, idempotency_key, asked.request_hash
            )
            if earlier is not None:
                return earlier, False
        if dedupe_key is not None:
            existing = await requests_repository.find_by_dedupe_key(
                session, organization_id, dedupe_key
            )
            if existing is not None:
                raise DuplicateExecution(existing, dedupe_key) from None
        raise
    if not inserted:
        return None
    stage_after_commit(session, *topics)
    return view, True


async def _idempotent_replay(
    session: AsyncSession, organization_id: str, key: str, request_hash: str | None
) -> ExecutionView | None:
    found = await requests_repository.find_by_idempotency_key(session, organization_id, key)
    if found is None:
        return None
    execution, fresh = found
    if not fresh:
        await requests_repository.release_idempotency_key(session, execution.id)
        return None
    if execution.request_hash != request_hash:
        raise Conflict(
            "This Idempotency-Key was used within 24 hours for a different request",
            extra={"execution_id": execution.id},
        )
    return await _full_view(session, execution)


def _start_config(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    for node in definition.get("nodes") or []:
        if isinstance(node, Mapping) and node.get("type") == "start":
            config = node.get("config")
            return config if isinstance(config, Mapping) else {}
    return {}


def _check_input(definition: Mapping[str, Any], value: Any) -> None:
    problems = check_input(_start_config(definition), value)
    if problems:
        raise ValidationFailed(
            "The input does not match the start node's input_schema",
            errors=[{**p, "loc": ["body", *p["loc"]], "node_id": "start"} for p in problems],
        )


def _merge_labels(flow_labels: dict[str, str], asked: Mapping[str, Any]) -> dict[str, str]:
    """The flow's labels plus the request's; a request never changes or removes a flow label."""
    merged = {str(k): str(v) for k, v in flow_labels.items()}
    problems = []
    for key, value in asked.items():
        if key in merged and merged[key] != str(value):
            problems.append(
                {
                    "loc": ["body", "runs_on", key],
                    "msg": f"the flow runs on {key}={merged[key]}; runs_on adds labels only",
                }
            )
        merged[str(key)] = str(value)
    if problems:
        raise ValidationFailed("runs_on may add labels, not change the flow's", errors=problems)
    return merged


async def _waiting_detail(
    session: AsyncSession, organization_id: str, labels: Mapping[str, str]
) -> str | None:
    """ "waiting for a runner with k=v" when no online runner carries every label, else None."""
    # Imported here: the runners domain calls this module, and this is the one way back.
    from flomation.runners import service as runners_service

    offered = await runners_service.recent_online_label_sets(session, organization_id)
    return waiting_detail(labels, offered)


def waiting_detail(labels: Mapping[str, str], offered: Sequence[Mapping[str, str]]) -> str | None:
    if any(all(runner.get(k) == v for k, v in labels.items()) for runner in offered):
        return None
    if not labels:
        return "waiting for a runner"
    wanted = ", ".join(f"{key}={labels[key]}" for key in sorted(labels))
    return f"waiting for a runner with {wanted}"


def _reachable_from(definition: Mapping[str, Any], node_id: str) -> set[str]:
    edges: dict[str, list[str]] = {}
    for edge in definition.get("edges") or []:
        if isinstance(edge, Mapping):
            edges.setdefault(str(edge.get("from")), []).append(str(edge.get("to")))
    seen = {node_id}
    todo = deque([node_id])
    while todo:
        for target in edges.get(todo.popleft(), []):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


async def _outputs_before(
    session: AsyncSession, definition: Mapping[str, Any], retry_of: str, from_node: str
) -> dict[str, Any]:
    """Outputs of the retried execution's succeeded steps that `from_node` does not lead to
    (what comes before it): the runner reuses them instead of running those nodes again."""
    node_ids = {str(n.get("id")) for n in definition.get("nodes") or [] if isinstance(n, Mapping)}
    if from_node not in node_ids:
        raise ValidationFailed(
            f"The flow has no node {from_node!r}",
            errors=[{"loc": ["body", "from_node"], "msg": "no such node"}],
        )
    rerun = _reachable_from(definition, from_node)
    outputs = await queries_repository.succeeded_step_outputs(session, retry_of)
    return {node: output for node, output in outputs.items() if node not in rerun}


# --------------------------------------------------------------------------- user actions


async def cancel_execution(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> CancelAccepted:
    """Cancel: a waiting execution ends `cancelled` at once (`failed` with its error when it
    waits for a recovery attempt); a running one is marked cancel-requested (its runner
    learns it on its next heartbeat, and maintenance ends it `cancelled` if the runner does
    not within a lease). `Conflict` when it already ended."""
    execution = await _get(session, organization_id, execution_id)
    if execution.status in FINAL_STATUSES:
        raise _already_ended(execution)
    entry = await actions_repository.lock_queue_row(session, execution_id)  # queue row first
    if entry is not None and entry.lease_owner is None:
        await maintenance_repository.delete_queue_rows(session, [execution_id])
        # Waiting for its recovery attempt, it has failed already: it ends failed, with the
        # error that attempt would have ended with, and no on_error branch.
        recovery = execution.recovery_error or None
        status = FAILED if recovery else CANCELLED
        ended = await end_executions(
            session, [execution_id], status=status, output=None, error=recovery
        )
        if ended:
            return CancelAccepted(id=execution_id, status=status)
    else:
        requested = await actions_repository.request_cancel(session, execution_id)
        if requested is not None:
            await actions_repository.append_events(
                session, execution_id, [("execution", _event_payload(requested))]
            )
            topics = [execution_topic(execution_id)]
            if requested.runner_id is not None:
                topics.append(runner_topic(requested.runner_id))
            await publish_after_commit(session, *topics)
            return CancelAccepted(
                id=execution_id,
                status=RUNNING,
                cancel_requested_at=requested.cancel_requested_at,
            )
    raise _already_ended(await _get(session, organization_id, execution_id))


def _already_ended(execution: Execution) -> Conflict:
    return Conflict(
        f"Execution {execution.id} has already ended ({execution.status})",
        extra={"status": execution.status},
    )


async def retry_execution(
    session: AsyncSession,
    *,
    organization_id: str,
    execution_id: str,
    from_node: str | None = None,
) -> ExecutionView:
    """A new execution with the same input and revision (`retry_of` set, trigger `retry`);
    from a node, the outputs of the nodes before it are reused. `Conflict` while the
    original still runs."""
    original = await _get(session, organization_id, execution_id)
    if original.status not in FINAL_STATUSES:
        raise Conflict(
            f"Execution {execution_id} is still {original.status}: retry it once it has ended",
            extra={"status": original.status},
        )
    return await request_execution(
        session,
        organization_id=organization_id,
        flow_id=original.flow_id,
        input=original.input,
        trigger={"type": "retry", "execution_id": original.id},
        revision=original.revision,
        runs_on=original.runs_on,
        retry_of=original.id,
        from_node=from_node,
        parent_execution_id=original.parent_execution_id,
        depth=original.depth,
    )


# --------------------------------------------------------------------------- runners


@dataclass(frozen=True, slots=True)
class _Definition:
    """A flow revision's definition and the variable and secret names it references."""

    definition: dict[str, Any]
    variable_names: frozenset[str]
    secret_names: frozenset[str]


@dataclass(frozen=True, slots=True)
class _ClaimedRevision:
    definition: dict[str, Any]
    variables: dict[str, Any]
    secrets: dict[str, str]


# (organisation, flow id, revision) -> its definition: a revision never changes once written,
# and flows are archived, never deleted, so a claim need not read nor scan it again.
_DEFINITIONS = SizedLRU[tuple[str, str, int], _Definition](
    max_entries=256, max_bytes=64 * 1024 * 1024, max_entry_bytes=1024 * 1024
)


async def _definition(
    session: AsyncSession, organization_id: str, flow_id: str, revision: int
) -> _Definition:
    key = (organization_id, flow_id, revision)
    known = _DEFINITIONS.get(key)
    if known is None:
        flow = await flows_service.get_flow_revision(session, organization_id, flow_id, revision)
        variable_names, secret_names = referenced_names(flow.definition)
        known = _Definition(
            dict(flow.definition), frozenset(variable_names), frozenset(secret_names)
        )
        _DEFINITIONS.put(key, known, json_bytes(flow.definition))
    return known


async def has_on_error(
    session: AsyncSession, organization_id: str, flow_id: str, revision: int
) -> bool:
    """Whether this flow revision has an `on_error` node (an execution of it that loses its
    runners gets a recovery attempt that runs that branch)."""
    known = await _definition(session, organization_id, flow_id, revision)
    nodes = known.definition.get("nodes")
    return isinstance(nodes, list) and any(
        isinstance(node, dict) and node.get("type") == "on_error" for node in nodes
    )


async def _claimed_revisions(
    session: AsyncSession,
    organization_id: str,
    revisions: set[tuple[str, int]],
    keyring: Keyring | None,
) -> dict[tuple[str, int], _ClaimedRevision]:
    """Per flow revision among claimed executions: its definition, and the variables and
    decrypted secrets it references, read once (and not at all when it references none)."""
    found: dict[tuple[str, int], _ClaimedRevision] = {}
    for flow_id, revision in sorted(revisions):
        known = await _definition(session, organization_id, flow_id, revision)
        variables: dict[str, Any] = {}
        secrets: dict[str, str] = {}
        if known.variable_names or known.secret_names:
            variables, secrets = await secrets_service.resolve_for_runner(
                session, organization_id, known.variable_names, known.secret_names, keyring=keyring
            )
        found[(flow_id, revision)] = _ClaimedRevision(known.definition, variables, secrets)
    return found


async def claim_executions(
    session: AsyncSession,
    *,
    organization_id: str,
    runner_id: str,
    labels: dict[str, str],
    limit: int,
    lease_seconds: float,
    keyring: Keyring | None = None,
) -> list[ClaimedExecution]:
    """Claim up to `limit` queued executions of the organisation for this runner, atomically.

    Only executions whose labels are a subset of `labels` qualify, oldest first, and never more
    running executions of one flow than its `max_concurrent_executions`. Each claimed execution
    becomes `running` with `attempt` + 1, this runner as its holder and a lease of
    `lease_seconds` on the database clock. The answer carries the definition, the input, the
    variables and decrypted secrets the definition references, and what a retry from a node
    reuses. Returns [] when nothing qualifies (then wait on `WorkNotifier.subscribe_work`).
    `keyring` decrypts secrets (default: the API process's, `secrets.crypto.default_keyring`).
    """
    if limit <= 0:
        return []
    started = await claims_repository.claim_and_start(
        session,
        organization_id=organization_id,
        runner_id=runner_id,
        labels={str(k): str(v) for k, v in labels.items()},
        limit=limit,
        lease_seconds=lease_seconds,
    )
    if not started:
        return []
    # The started rows are Core rows with the execution's columns (no ORM objects).
    executions = [row for row, _ in started]
    # The claims' `execution` events and their wake-ups: one statement on PostgreSQL.
    topics = stage_after_commit(session, *(execution_topic(e.id) for e in executions))
    await claims_repository.insert_claim_events(
        session,
        [_event_row(e, e.last_seq, "execution", _event_payload(e)) for e in executions],
        notify=topics,
    )
    revisions = await _claimed_revisions(
        session, organization_id, {(e.flow_id, e.revision) for e in executions}, keyring
    )
    claimed = []
    for execution, lease_expires_at in started:
        revision = revisions[(execution.flow_id, execution.revision)]
        claimed.append(
            ClaimedExecution(
                id=execution.id,
                organization_id=organization_id,
                flow_id=execution.flow_id,
                revision=execution.revision,
                attempt=execution.attempt,
                definition=dict(revision.definition),
                input=execution.input,
                trigger=execution.trigger,
                lease_expires_at=lease_expires_at,
                deadline_at=execution.deadline_at,
                timeout_s=execution.timeout_s,
                depth=execution.depth,
                parent_execution_id=execution.parent_execution_id,
                from_node=execution.from_node,
                prior_outputs=execution.prior_outputs,
                variables=dict(revision.variables),
                secrets=dict(revision.secrets),
                recovery_error=execution.recovery_error,
            )
        )
        if execution.started_at is not None:
            waited = (execution.started_at - execution.queued_at).total_seconds()
            metrics.CLAIM_LATENCY.observe(max(waited, 0.0))
    metrics.CLAIMS.inc(len(claimed))
    return claimed


async def renew_leases(
    session: AsyncSession,
    *,
    runner_id: str,
    held: list[tuple[str, int]],
    lease_seconds: float,
) -> LeaseRenewal:
    """Heartbeat: extend the leases of the `(execution_id, attempt)` pairs this runner holds.

    `cancel` lists held executions the runner must stop (cancel requested, or past their
    deadline); `lost` lists pairs this runner/attempt no longer holds.
    """
    renewed = await claims_repository.renew(
        session, runner_id=runner_id, held=held, lease_seconds=lease_seconds
    )
    kept = set(renewed)
    lost = [execution_id for execution_id, attempt in held if (execution_id, attempt) not in kept]
    renewed_ids = [execution_id for execution_id, _ in renewed]
    cancel = await claims_repository.to_stop(session, renewed_ids)
    return LeaseRenewal(renewed=renewed_ids, cancel=cancel, lost=lost)


async def record_events(
    session: AsyncSession,
    *,
    runner_id: str,
    execution_id: str,
    attempt: int,
    events: list[dict[str, Any]],
    topics: list[str] | None = None,
) -> None:
    """Store a batch of progress events from the runner holding `attempt` of the execution.

    Events are the engine's (`flomation.engine.events`, `ExecutionEvent.to_dict()`):
    `{"kind", "seq", "at", ...data}` with kinds `node.started`, `node.retrying`,
    `node.succeeded`, `node.failed`, `node.skipped`, `node.cancelled` (folded into steps,
    upserted by node, visit and iteration) and `log` (appended to the logs); other kinds are
    accepted and not stored (the execution's own status comes from claim and complete). Each
    stored change is also appended to the event stream as a `step` or `log` event.
    FENCED: raises `StaleAttempt` and changes nothing unless this runner holds this attempt of
    a running execution. Writes are batched: one statement per table. `topics`: append the
    wake-ups to it for the caller to publish (once for a whole batch) instead of publishing.
    """
    _check_events(events)
    stream_count = _stream_count(events)
    last = await reports_repository.fence_and_number(
        session,
        runner_id=runner_id,
        execution_id=execution_id,
        attempt=attempt,
        count=stream_count,
    )
    if last is None:
        raise StaleAttempt(execution_id, attempt)
    if stream_count == 0:
        return
    folder = _StepFolder(execution_id, attempt)
    folder.known = {
        int(step["step"]): step
        for step in await reports_repository.steps_by_keys(
            session,
            [(execution_id, attempt, number) for number in _steps_begun_earlier(events)],
        )
    }
    logs: list[dict[str, Any]] = []
    stream: list[dict[str, Any]] = []
    _fold_events(folder, events, last - stream_count, logs, stream)
    await reports_repository.upsert_steps(session, folder.rows())
    await reports_repository.insert_logs(session, logs)
    await reports_repository.insert_events(session, stream)
    if topics is None:
        await publish_after_commit(session, execution_topic(execution_id))
    else:
        topics.append(execution_topic(execution_id))


def _is_stream_event(event: Mapping[str, Any]) -> bool:
    kind = str(event.get("kind", ""))
    return kind.startswith("node.") or kind == "log"


def _stream_count(events: Sequence[Mapping[str, Any]]) -> int:
    """How many event numbers the events take: one per node event and per log line."""
    return sum(1 for event in events if _is_stream_event(event))


def _steps_begun_earlier(events: Sequence[Mapping[str, Any]]) -> set[int]:
    """The steps these node events change that began in an earlier batch: only those can be
    stored already. The engine announces each step of an attempt with one `node.started`, so a
    step whose `node.started` is in this batch is new (or, if a lost answer made the runner
    send the batch again, is rebuilt from the same events; the upsert keeps its first `seq`).
    A short flow's steps begin and end in one batch and need no look-up at all."""
    touched: set[int] = set()
    begun_here: set[int] = set()
    for event in events:
        kind = str(event.get("kind", ""))
        if kind.startswith("node."):
            touched.add(int(event["step"]))
            if kind == "node.started":
                begun_here.add(int(event["step"]))
    return touched - begun_here


def _fold_events(
    folder: _StepFolder,
    events: Sequence[Mapping[str, Any]],
    seq: int,
    logs: list[dict[str, Any]],
    stream: list[dict[str, Any]],
) -> None:
    """Fold checked events numbered from `seq` + 1 into the folder's steps, appending log rows
    to `logs` and `step`/`log` stream events to `stream`."""
    execution_id = folder.execution_id
    for event in events:
        kind = str(event.get("kind", ""))
        if kind.startswith("node."):
            seq += 1
            step = folder.fold(kind, event, seq)
            payload = StepView.model_validate(step).model_dump(mode="json")
            stream.append(
                {"execution_id": execution_id, "seq": seq, "type": "step", "payload": payload}
            )
        elif kind == "log":
            seq += 1
            log = {
                "execution_id": execution_id,
                "seq": seq,
                "at": _parse_time(event.get("at")) or utcnow(),
                "node_id": event.get("node_id"),
                "level": str(event.get("level", "info"))[:10],
                "message": str(event.get("message", "")),
            }
            logs.append(log)
            payload = LogView.model_validate(log).model_dump(mode="json")
            stream.append(
                {"execution_id": execution_id, "seq": seq, "type": "log", "payload": payload}
            )


def _check_events(events: Sequence[Any]) -> None:
    """Refuse (422, nothing stored) events this domain cannot fold, naming each one."""
    problems: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        loc: list[Any] = ["body", "events", index]
        if not isinstance(event, Mapping) or not isinstance(event.get("kind"), str):
            problems.append({"loc": loc, "msg": "an event is an object with a string 'kind'"})
            continue
        kind = event["kind"]
        if kind.startswith("node."):
            step = event.get("step")
            if not isinstance(step, int) or isinstance(step, bool):
                problems.append({"loc": [*loc, "step"], "msg": "node events need an integer step"})
            if not isinstance(event.get("node_id"), str):
                problems.append({"loc": [*loc, "node_id"], "msg": "node events need a node_id"})
            visit = event.get("visit")
            if visit is not None and (not isinstance(visit, int) or isinstance(visit, bool)):
                problems.append({"loc": [*loc, "visit"], "msg": "visit is an integer"})
        elif kind == "log" and not isinstance(event.get("message"), str):
            problems.append({"loc": [*loc, "message"], "msg": "log events need a message"})
    if problems:
        raise ValidationFailed("Some events cannot be recorded", errors=problems)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


_FINAL_STEP_STATUS = {
    "node.succeeded": "succeeded",
    "node.failed": "failed",
    "node.skipped": "skipped",
    "node.cancelled": "cancelled",
}
_STEP_FIELDS = ("input", "output", "error", "port")


class _StepFolder:
    """Folds a batch of node events into step rows (every column, as plain dicts), as the
    engine's ExecutionRecorder does."""

    def __init__(self, execution_id: str, attempt: int) -> None:
        self.execution_id = execution_id
        self.attempt = attempt
        self.known: dict[int, dict[str, Any]] = {}
        self.changed: dict[int, dict[str, Any]] = {}

    def fold(self, kind: str, event: Mapping[str, Any], seq: int) -> dict[str, Any]:
        number = int(event["step"])
        at = _parse_time(event.get("at")) or utcnow()
        step = self.known.get(number)
        if step is None:
            node_id = str(event.get("node_id", ""))
            visit = event.get("visit")
            iteration = event.get("iteration")
            step = {
                "execution_id": self.execution_id,
                "step_key": f"{node_id}|{visit}|{json.dumps(iteration, sort_keys=True)}"[:300],
                "node_id": node_id,
                "visit": visit,
                "iteration": iteration,
                "run_attempt": self.attempt,
                "step": number,
                "parent_step": event.get("parent_step"),
                "status": "running",
                "attempts": 0,
                "input": None,
                "output": None,
                "error": None,
                "port": None,
                "reused": False,
                "output_truncated": False,
                "started_at": at,
                "finished_at": None,
                "seq": seq,
            }
            self.known[number] = step
        for name in _STEP_FIELDS:
            if name in event:
                step[name] = event[name]
        if "attempt" in event:
            step["attempts"] = max(step["attempts"] or 0, int(event["attempt"]))
        if "attempts" in event:
            step["attempts"] = int(event["attempts"])
        if event.get("reused"):
            step["reused"] = True
        if "output" in event:
            step["output_truncated"] = bool(event.get("output_truncated"))
        final = _FINAL_STEP_STATUS.get(kind)
        if final is not None:
            step["status"] = final
            step["finished_at"] = at
        self.changed[number] = step
        return step

    def rows(self) -> list[dict[str, Any]]:
        return [dict(step) for step in self.changed.values()]


async def complete_execution(
    session: AsyncSession,
    *,
    runner_id: str,
    execution_id: str,
    attempt: int,
    status: FinalStatus,
    output: Any,
    error: dict[str, Any] | None,
    topics: list[str] | None = None,
) -> None:
    """End an execution with its final status, output and error (`{node_id, type, message,
    attempt}` or None). FENCED like `record_events`: `StaleAttempt`, nothing changed.
    `topics` as in `record_events`."""
    _check_final_status(status)
    # Queue row first (the lock order); deleting it is the fence.
    held, limited = await reports_repository.take_held_queue_row(
        session, runner_id=runner_id, execution_id=execution_id, attempt=attempt
    )
    if not held:
        raise StaleAttempt(execution_id, attempt)
    ended = await end_executions(
        session,
        [execution_id],
        status=status,
        output=output,
        error=error,
        frees_a_slot=limited,
        topics=topics,
    )
    if not ended:
        raise StaleAttempt(execution_id, attempt)


async def end_executions(
    session: AsyncSession,
    execution_ids: Sequence[str],
    *,
    status: str,
    output: Any,
    error: dict[str, Any] | None,
    frees_a_slot: bool = True,
    topics: list[str] | None = None,
) -> list[Execution]:
    """Record the end of executions whose queue rows the caller already removed: final
    status, `execution` and `end` events, metrics, wake-ups. `frees_a_slot`: the end may let
    a waiting execution of a flow with a concurrency limit start, so idle runners are woken.
    `topics`: append the wake-ups to it for the caller to publish instead of publishing."""
    ended = await reports_repository.finish(
        session, execution_ids, status=status, output=output, error=error
    )
    rows = []
    for execution in ended:
        payload = _event_payload(execution)
        rows.append(_event_row(execution, execution.last_seq - 1, "execution", payload))
        rows.append(_event_row(execution, execution.last_seq, "end", payload))
    await reports_repository.insert_events(session, rows)
    wakeups: list[str] = []
    for execution in ended:
        metrics.EXECUTIONS_FINISHED.labels(status=status).inc()
        wakeups.append(execution_topic(execution.id))
        if frees_a_slot:
            wakeups.append(work_topic(execution.organization_id))
    if topics is not None:
        topics.extend(wakeups)
    elif wakeups:
        await publish_after_commit(session, *wakeups)
    return ended


@dataclass(frozen=True)
class Report:
    """One item of a runner's report: events of an attempt and, when `status` is set, its end
    (what `record_events` and then `complete_execution` take)."""

    execution_id: str
    attempt: int
    events: list[dict[str, Any]]
    status: str | None = None
    output: Any = None
    error: dict[str, Any] | None = None


class ItemByItem(Exception):
    """The batch cannot be recorded set-based: the caller rolls back and records it item by
    item (`record_events`, `complete_execution`, each in a savepoint)."""


async def record_reports(
    session: AsyncSession, *, runner_id: str, reports: Sequence[Report]
) -> list[FlomationError | None]:
    """`record_events` then `complete_execution` for each report, the whole batch in a fixed
    number of statements: the same fences, rows, sequence numbers, metrics and wake-ups.
    Answers, per report, None (recorded) or the error that refused it, which changed nothing
    (`ValidationFailed` for a malformed one, `StaleAttempt` for an attempt this runner no
    longer holds). Raises `ItemByItem`, possibly after writing, when a report's effects could
    not be kept apart from the others' (the same execution twice, an end whose queue row was
    taken but whose execution row refused it): the caller's transaction must roll back."""
    if len({report.execution_id for report in reports}) != len(reports):
        raise ItemByItem
    outcomes: list[FlomationError | None] = [_check_report(report) for report in reports]
    ending = [
        (report.execution_id, report.attempt)
        for report, outcome in zip(reports, outcomes, strict=True)
        if outcome is None and report.status is not None
    ]
    # Queue rows first (the lock order); taking an ending execution's row is its fence.
    taken = await reports_repository.take_held_queue_rows(session, runner_id=runner_id, held=ending)
    fences: list[reports_repository.Fence] = []
    for index, report in enumerate(reports):
        if outcomes[index] is not None or (not report.events and report.status is None):
            continue
        ends = report.status is not None
        if ends and report.execution_id not in taken:
            outcomes[index] = StaleAttempt(report.execution_id, report.attempt)
            continue
        fences.append(_fence(report, limited=taken.get(report.execution_id, False)))
    passed = await reports_repository.fence_batch(
        session,
        runner_id=runner_id,
        fences=fences,
        channel=CHANNEL,
        execution_prefix=notify_payload(execution_topic("")),
        work_prefix=notify_payload(work_topic("")),
    )
    for index, report in enumerate(reports):
        if outcomes[index] is None and report.execution_id not in passed:
            if report.execution_id in taken:
                raise ItemByItem  # its queue row is gone: only a rollback restores it
            if report.events or report.status is not None:
                outcomes[index] = StaleAttempt(report.execution_id, report.attempt)
    landed = [
        (report, passed[report.execution_id])
        for report, outcome in zip(reports, outcomes, strict=True)
        if outcome is None and report.execution_id in passed
    ]
    await _write_reports(session, landed)
    _stage_report_wakeups(session, fences, passed)
    return outcomes


def _check_report(report: Report) -> FlomationError | None:
    try:
        _check_events(report.events)
        if report.status is not None:
            _check_final_status(report.status)
    except ValidationFailed as refused:
        return refused
    return None


def _check_final_status(status: str) -> None:
    if status not in FINAL_STATUSES:
        raise ValidationFailed(
            f"status must be one of {', '.join(FINAL_STATUSES)}",
            errors=[{"loc": ["body", "status"], "msg": "not a final status"}],
        )


def _fence(report: Report, *, limited: bool) -> reports_repository.Fence:
    ends = report.status is not None
    stream_count = _stream_count(report.events)
    return reports_repository.Fence(
        execution_id=report.execution_id,
        attempt=report.attempt,
        # An end takes two more numbers: its `execution` and `end` events.
        count=stream_count + (2 if ends else 0),
        # As `record_events` (only called with events) fences; an end alone was fenced by
        # its queue row and, as `reports_repository.finish`, only must not have ended yet.
        strict=bool(report.events),
        ends=ends,
        status=report.status,
        output=report.output,
        error=report.error,
        wakes=stream_count > 0 or ends,
        frees=ends and limited,
    )


async def _write_reports(
    session: AsyncSession, landed: Sequence[tuple[Report, dict[str, Any]]]
) -> None:
    """The steps, log lines and stream events of the reports that passed their fences, one
    statement per table for the whole batch."""
    wanted = [
        (report.execution_id, report.attempt, number)
        for report, _ in landed
        for number in _steps_begun_earlier(report.events)
    ]
    known: dict[str, dict[int, dict[str, Any]]] = {}
    for step in await reports_repository.steps_by_keys(session, wanted):
        known.setdefault(str(step["execution_id"]), {})[int(step["step"])] = step
    steps: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    stream: list[dict[str, Any]] = []
    for report, row in landed:
        last = int(row["last_seq"])
        ends = report.status is not None
        first = last - _stream_count(report.events) - (2 if ends else 0)
        if report.events:
            folder = _StepFolder(report.execution_id, report.attempt)
            folder.known = known.get(report.execution_id, {})
            _fold_events(folder, report.events, first, logs, stream)
            steps.extend(folder.rows())
        if ends:
            payload = _summary_payload(row)
            stream.append(_event_row_of(report.execution_id, last - 1, "execution", payload))
            stream.append(_event_row_of(report.execution_id, last, "end", payload))
            metrics.EXECUTIONS_FINISHED.labels(status=str(report.status)).inc()
    await reports_repository.upsert_steps(session, steps)
    await reports_repository.insert_logs(session, logs)
    await reports_repository.insert_events(session, stream)


def _summary_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    values = {**row, "runs_on": row["runs_on"] or {}}
    return ExecutionSummary.model_validate(values).model_dump(mode="json")


def _event_row_of(execution_id: str, seq: int, kind: str, payload: Any) -> dict[str, Any]:
    return {"execution_id": execution_id, "seq": seq, "type": kind, "payload": payload}


def _stage_report_wakeups(
    session: AsyncSession, fences: Sequence[reports_repository.Fence], passed: Mapping[str, Any]
) -> None:
    """This process's waiters, woken at commit; PostgreSQL's were notified by the fence."""
    topics: list[str] = []
    for fence in fences:
        row = passed.get(fence.execution_id)
        if row is None:
            continue
        if fence.wakes:
            topics.append(execution_topic(fence.execution_id))
        if fence.frees:
            topics.append(work_topic(str(row["organization_id"])))
    if topics:
        stage_after_commit(session, *topics)


async def release_executions(session: AsyncSession, *, runner_id: str, ids: list[str]) -> None:
    """Hand executions this runner holds back to the queue at once (runner shutting down).
    The next claim takes a new attempt, so anything the old attempt still sends is refused."""
    released = await reports_repository.release(session, runner_id=runner_id, execution_ids=ids)
    await requeue_executions(session, released, detail="released by its runner")


async def requeue_executions(
    session: AsyncSession, execution_ids: Sequence[str], *, detail: str | None
) -> None:
    """Executions whose queue rows were unleased become `queued` again, with an event."""
    requeued = await reports_repository.mark_requeued(session, execution_ids, detail)
    await reports_repository.insert_events(
        session,
        [_event_row(e, e.last_seq, "execution", _event_payload(e)) for e in requeued],
    )
    for execution in requeued:
        await publish_after_commit(
            session, execution_topic(execution.id), work_topic(execution.organization_id)
        )
