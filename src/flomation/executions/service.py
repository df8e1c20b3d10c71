"""Rules of the executions domain: requesting, claiming, leasing, recording and ending
executions. Called by the API endpoints, the runners domain, the triggers domain and Launch.

Every function takes an `AsyncSession` whose transaction the caller owns; none commits.
Waiting runners are woken after the caller's commit (PostgreSQL: `pg_notify` inside the
transaction; SQLite: an in-process event fired from the session's after-commit hook).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.executions.errors import DuplicateExecution, StaleAttempt
from flomation.executions.schemas import (
    ClaimedExecution,
    ExecutionView,
    FinalStatus,
    LeaseRenewal,
)

__all__ = [
    "DuplicateExecution",
    "StaleAttempt",
    "claim_executions",
    "complete_execution",
    "get_execution",
    "record_events",
    "release_executions",
    "renew_leases",
    "request_execution",
]


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
      by the first request (check `view.created` is False) when the hash matches, and raises
      `Conflict` when it differs.
    - `dedupe_key` (unique per organisation, kept forever): a second request with the same
      key raises `DuplicateExecution` carrying the existing id; nothing changes.
    - `retry_of` + `from_node`: the outputs of the retried execution's succeeded steps that
      come before `from_node` are stored for the runner to reuse.
    """
    raise NotImplementedError


async def get_execution(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> ExecutionView:
    """The execution with its steps and logs; `NotFound` for an unknown id or another
    organisation's."""
    raise NotImplementedError


async def claim_executions(
    session: AsyncSession,
    *,
    organization_id: str,
    runner_id: str,
    labels: dict[str, str],
    limit: int,
    lease_seconds: float,
) -> list[ClaimedExecution]:
    """Claim up to `limit` queued executions of the organisation for this runner, atomically.

    Only executions whose labels are a subset of `labels` qualify, oldest first, and never more
    running executions of one flow than its `max_concurrent_executions`. Each claimed execution
    becomes `running` with `attempt` + 1, this runner as its holder and a lease of
    `lease_seconds` on the database clock. The answer carries the definition, the input, the
    variables and decrypted secrets the definition references, and what a retry from a node
    reuses. Returns [] when nothing qualifies (then wait on `WorkNotifier.wait_for_work`).
    """
    raise NotImplementedError


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
    raise NotImplementedError


async def record_events(
    session: AsyncSession,
    *,
    runner_id: str,
    execution_id: str,
    attempt: int,
    events: list[dict[str, Any]],
) -> None:
    """Store a batch of progress events from the runner holding `attempt` of the execution.

    Events (the engine recorder's shapes):
    - `{"type": "step", "node_id", "visit", "iteration", "status", "attempts", "input",
      "output", "error", "started_at", "finished_at"}`: upserts the step
      `(node_id, visit, iteration)`;
    - `{"type": "log", "at", "node_id", "level", "message"}`: appends a log line.
    Each is also appended to the event stream. FENCED: raises `StaleAttempt` and changes
    nothing unless this runner holds this attempt of a running execution.
    """
    raise NotImplementedError


async def complete_execution(
    session: AsyncSession,
    *,
    runner_id: str,
    execution_id: str,
    attempt: int,
    status: FinalStatus,
    output: Any,
    error: dict[str, Any] | None,
) -> None:
    """End an execution with its final status, output and error (`{node_id, type, message,
    attempt}` or None). FENCED like `record_events`: `StaleAttempt`, nothing changed."""
    raise NotImplementedError


async def release_executions(session: AsyncSession, *, runner_id: str, ids: list[str]) -> None:
    """Hand executions this runner holds back to the queue at once (runner shutting down).
    The next claim takes a new attempt, so anything the old attempt still sends is refused."""
    raise NotImplementedError
