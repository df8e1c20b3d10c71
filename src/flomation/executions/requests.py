"""Requesting an execution: checks of its input and labels, idempotent and deduplicated
requests, the queue row, and why it waits."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.db.session import is_autocommit
from flomation.engine.nodes.flow import check_input
from flomation.errors import Conflict, ValidationFailed
from flomation.executions.errors import DuplicateExecution
from flomation.executions.notifier import execution_topic, stage_after_commit, unstaged, work_topic
from flomation.executions.repository import queries as queries_repository
from flomation.executions.repository import requests as requests_repository
from flomation.executions.schemas import ExecutionView
from flomation.executions.views import full_view
from flomation.flows import service as flows_service
from flomation.ids import new_id
from flomation.protocol.statuses import ExecutionStatus

MAX_DEPTH = 10


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
        "status": ExecutionStatus.QUEUED,
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
    return await full_view(session, execution)


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
