"""A runner's claims of queued executions (with each revision's definition, variables and
secrets) and the renewal of the leases it holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.connections import imported as imported_services
from flomation.connections import service as connections_service
from flomation.engine.validation import referenced_names
from flomation.executions import metrics
from flomation.executions.notifier import execution_topic, stage_after_commit
from flomation.executions.repository import claims as claims_repository
from flomation.executions.schemas import ClaimedExecution, LeaseRenewal
from flomation.executions.views import event_payload, event_row
from flomation.flows import service as flows_service
from flomation.protocol import ClaimedConnection
from flomation.secrets import service as secrets_service
from flomation.secrets.crypto import Keyring
from flomation.sized_lru import SizedLRU, json_bytes


@dataclass(frozen=True, slots=True)
class _Definition:
    """A flow revision's definition and the variable, secret and connection names it
    references."""

    definition: dict[str, Any]
    variable_names: frozenset[str]
    secret_names: frozenset[str]
    connection_names: frozenset[str] = frozenset()
    service_names: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class _ClaimedRevision:
    definition: dict[str, Any]
    variables: dict[str, Any]
    secrets: dict[str, str]
    connections: dict[str, ClaimedConnection]
    imported_services: list[dict[str, Any]]


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
            dict(flow.definition),
            frozenset(variable_names),
            frozenset(secret_names),
            connections_service.referenced_connections(
                flow.definition,
                await imported_services.organization_node_registry(
                    session, organization_id, flow.definition
                ),
            ),
            imported_services.referenced_services(flow.definition),
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
    decrypted secrets and connections it references, read once (and not at all when it
    references none)."""
    found: dict[tuple[str, int], _ClaimedRevision] = {}
    for flow_id, revision in sorted(revisions):
        known = await _definition(session, organization_id, flow_id, revision)
        variables: dict[str, Any] = {}
        secrets: dict[str, str] = {}
        if known.variable_names or known.secret_names:
            variables, secrets = await secrets_service.resolve_for_runner(
                session, organization_id, known.variable_names, known.secret_names, keyring=keyring
            )
        connections: dict[str, ClaimedConnection] = {}
        if known.connection_names:
            connections = await connections_service.resolve_for_runner(
                session, organization_id, known.connection_names, keyring=keyring
            )
        # Read at each claim, not cached with the definition: a re-import changes them.
        services: list[dict[str, Any]] = []
        if known.service_names:
            services = await imported_services.claimed_services(
                session, organization_id, known.service_names
            )
        found[(flow_id, revision)] = _ClaimedRevision(
            known.definition, variables, secrets, connections, services
        )
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
        [event_row(e, e.last_seq, "execution", event_payload(e)) for e in executions],
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
                connections=dict(revision.connections),
                imported_services=list(revision.imported_services),
                recovery_error=execution.recovery_error,
            )
        )
        if execution.started_at is not None:
            waited = (execution.started_at - execution.queued_at).total_seconds()
            metrics.CLAIM_LATENCY.observe(max(waited, 0.0))
    metrics.CLAIMS.inc(len(claimed))
    return claimed


async def renew_leases(
    session: AsyncSession, *, runner_id: str, held: list[tuple[str, int]], lease_seconds: float
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
