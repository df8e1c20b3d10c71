"""What each signed runner call does, on top of the executions service.

These functions are request edges: they take the `Database` and open their own short
transactions, because a long poll must never hold a transaction while it waits. Each batch
item is fenced on its own, so one stale execution does not sink the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from flomation.clock import utcnow
from flomation.config import Settings
from flomation.connections import probes as connection_probes
from flomation.db.session import Database
from flomation.errors import Conflict, FlomationError, NotFound
from flomation.executions import claims as execution_claims
from flomation.executions import reports as execution_reports
from flomation.executions import requests as execution_requests
from flomation.executions import views as execution_views
from flomation.executions.errors import DuplicateExecution, StaleAttempt
from flomation.executions.schemas import ClaimedExecution as Claimed
from flomation.executions.schemas import ExecutionSummary
from flomation.protocol import (
    FINAL_STATUSES,
    ClaimedExecution,
    ClaimRequest,
    ClaimResponse,
    ExecutionStatus,
    HeartbeatRequest,
    HeartbeatResponse,
    ProbeRequest,
    ProbeResult,
    RefusedItem,
    ReleaseRequest,
    ReportItem,
    ReportResult,
    SubflowRequest,
    SubflowStarted,
    SubflowState,
    Verdict,
)
from flomation.runners import service
from flomation.runners.claim_groups import ClaimGroup, claim_group
from flomation.runners.service import MAX_SUBFLOW_DEPTH, AuthenticatedRunner
from flomation.timeutil import isoformat

log = logging.getLogger("flomation.runners")

# Without a notifier (a bare app in a script), long polls fall back to polling this often.
_FALLBACK_POLL_S = 0.5
MAX_SUBFLOW_WAIT_S = 30.0


class _Subscription(Protocol):
    def published(self) -> int | None: ...

    async def wait(self, timeout_s: float) -> bool: ...


class Notifier(Protocol):
    def subscribe_work(
        self, organization_id: str
    ) -> contextlib.AbstractContextManager[_Subscription]: ...

    def subscribe_execution(
        self, execution_id: str
    ) -> contextlib.AbstractContextManager[_Subscription]: ...


class _Polling:
    """Stands in for the notifier when the app has none: wakes up every half second."""

    def published(self) -> int | None:
        return None  # no publications to stamp: every wake-up claims

    async def wait(self, timeout_s: float) -> bool:
        await asyncio.sleep(min(timeout_s, _FALLBACK_POLL_S))
        return True


def _subscribe(
    notifier: Notifier | None,
    *,
    organization_id: str | None = None,
    execution_id: str | None = None,
) -> contextlib.AbstractContextManager[_Subscription]:
    if notifier is None:
        return contextlib.nullcontext(_Polling())
    if execution_id is not None:
        return notifier.subscribe_execution(execution_id)
    assert organization_id is not None
    return notifier.subscribe_work(organization_id)


def claimed_execution(claimed: Claimed, now: datetime | None = None) -> ClaimedExecution:
    """One claimed execution as the runner receives it (inside the signed claim answer).

    `deadline_in_s` spares the runner from trusting its own clock against the server's.
    """
    now = now or utcnow()
    deadline_in_s = (
        None if claimed.deadline_at is None else (claimed.deadline_at - now).total_seconds()
    )
    lease_expires_at = isoformat(claimed.lease_expires_at)
    assert lease_expires_at is not None
    return ClaimedExecution(
        id=claimed.id,
        flow_id=claimed.flow_id,
        revision=claimed.revision,
        attempt=claimed.attempt,
        definition=claimed.definition,
        input=claimed.input,
        trigger=claimed.trigger,
        lease_expires_at=lease_expires_at,
        deadline_at=isoformat(claimed.deadline_at),
        deadline_in_s=deadline_in_s,
        timeout_s=claimed.timeout_s,
        depth=claimed.depth,
        parent_execution_id=claimed.parent_execution_id,
        from_node=claimed.from_node,
        prior_outputs=claimed.prior_outputs,
        recovery_error=claimed.recovery_error,
        variables=claimed.variables,
        secrets=claimed.secrets,
        connections=claimed.connections,
        imported_services=claimed.imported_services,
    )


def _bounded_wait(asked: float | None, settings: Settings) -> float:
    limit = settings.claim_wait_seconds
    return limit if asked is None else max(0.0, min(asked, limit))


async def claim(
    database: Database,
    settings: Settings,
    notifier: Notifier | None,
    runner: AuthenticatedRunner,
    body: ClaimRequest,
    *,
    disconnected: Callable[[], Awaitable[bool]],
    stopping: asyncio.Event | None = None,
) -> ClaimResponse:
    """Renew what the runner holds, claim up to its free slots; when there is nothing, wait
    (bounded) for wake-ups, trying again after each, until something is claimed or the wait
    is over. Cancels for held executions answer at once. A stopping API ends the wait at once,
    so shutdown never waits out a long poll."""
    limit = min(body.free_slots, runner.max_concurrent_executors)
    held = [(item.execution_id, item.attempt) for item in body.held]
    cancel: list[str] = []
    lost: list[str] = []
    probes: list[ProbeRequest] = []
    group = claim_group(runner.organization_id, runner.labels)
    with _subscribe(notifier, organization_id=runner.organization_id) as subscription:
        published = subscription.published()
        # A runner claims again as soon as a claim brought it work: when a claim of its group
        # that began after the latest publication left slots to spare, nothing claimable
        # (executions or connection tests, which wake the same topic) has been announced
        # since, and this claim would find nothing (`claim_groups`).
        covered = group.covers(published)
        claimed = []
        if held or not covered:
            async with database.transaction() as session:
                if held:
                    await service.serialize_runner(session, runner.runner_id)
                    renewal = await execution_claims.renew_leases(
                        session,
                        runner_id=runner.runner_id,
                        held=held,
                        lease_seconds=settings.lease_seconds,
                    )
                    cancel, lost = renewal.cancel, renewal.lost
                if not covered:
                    claimed = await _claim(session, settings, runner, limit)
                    # Only an idle runner looks for connection tests: a claim that found work
                    # costs no extra statement (a test then goes to another runner, or waits).
                    if body.probes and not claimed:
                        probes = await _take_probes(session, runner)
            if not covered:
                group.record(published, claimed=len(claimed), limit=limit)
        if not claimed and not probes and limit > 0 and not cancel and not lost:
            claimed, probes = await _claim_when_woken(
                database,
                settings,
                subscription,
                group,
                runner,
                limit,
                wait_s=_bounded_wait(body.wait_s, settings),
                disconnected=disconnected,
                stopping=stopping,
                probes=body.probes,
            )
    return ClaimResponse(
        executions=[claimed_execution(item) for item in claimed],
        probes=probes,
        cancel=cancel,
        lost=lost,
    )


async def _take_probes(session: Any, runner: AuthenticatedRunner) -> list[ProbeRequest]:
    """Connection tests waiting for a runner like this one (see `connections.probes`)."""
    return await connection_probes.take_for_runner(
        session,
        organization_id=runner.organization_id,
        runner_id=runner.runner_id,
        labels=runner.labels,
    )


async def record_probe(
    database: Database, runner: AuthenticatedRunner, probe_id: str, result: ProbeResult
) -> None:
    async with database.transaction() as session:
        await connection_probes.record_result(
            session,
            organization_id=runner.organization_id,
            runner_id=runner.runner_id,
            probe_id=probe_id,
            result=result,
        )


async def _claim_when_woken(
    database: Database,
    settings: Settings,
    subscription: _Subscription,
    group: ClaimGroup,
    runner: AuthenticatedRunner,
    limit: int,
    *,
    wait_s: float,
    disconnected: Callable[[], Awaitable[bool]],
    stopping: asyncio.Event | None,
    probes: bool = False,
) -> tuple[list[Claimed], list[ProbeRequest]]:
    """Claim after each wake-up until something is claimed or `wait_s` is over.

    Every new execution wakes every waiting runner of the organisation and only one gets it:
    answering the others empty would cost each a new signed claim (a request, its
    authentication, its transactions) per execution, so they go back to waiting instead, and
    runners with the same labels claim in turn, each skipping a claim that one before it
    covered (`claim_groups`). When the wait times out, one last claim covers a wake-up that
    was missed. A runner that runs probes also takes the connection tests waiting for it
    (they wake the same topic), and answers as soon as it has any.
    """
    loop = asyncio.get_running_loop()
    until = loop.time() + wait_s
    while (remaining := until - loop.time()) > 0:
        woken = await _wait_unless_stopping(subscription, remaining, stopping)
        woken_at = subscription.published()
        # A runner that hung up would never learn of what we claim for it now.
        if await disconnected() or (stopping is not None and stopping.is_set()):
            return [], []
        taken: list[ProbeRequest] = []
        async with group.lock:
            # Runners of a group share labels, so the claim that covered this wake-up took the
            # probes they could run too.
            if woken and group.covers(woken_at):
                continue
            published = subscription.published()
            async with database.transaction() as session:
                claimed = await _claim(session, settings, runner, limit)
                if probes and not claimed:
                    taken = await _take_probes(session, runner)
            group.record(published, claimed=len(claimed), limit=limit)
        if claimed or taken or not woken:
            return claimed, taken
    return [], []


async def _wait_unless_stopping(
    subscription: _Subscription, wait_s: float, stopping: asyncio.Event | None
) -> bool:
    """True when woken by a publication; False on a timeout or when the API is stopping."""
    if stopping is None:
        return await subscription.wait(wait_s)
    woken = asyncio.ensure_future(subscription.wait(wait_s))
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({woken, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (woken, stopped):
            task.cancel()
        results = await asyncio.gather(woken, stopped, return_exceptions=True)
    return results[0] is True


async def _claim(
    session: Any, settings: Settings, runner: AuthenticatedRunner, limit: int
) -> list[Claimed]:
    if limit <= 0:
        return []
    return await execution_claims.claim_executions(
        session,
        organization_id=runner.organization_id,
        runner_id=runner.runner_id,
        labels=runner.labels,
        limit=limit,
        lease_seconds=settings.lease_seconds,
    )


async def heartbeat(
    database: Database, settings: Settings, runner: AuthenticatedRunner, body: HeartbeatRequest
) -> HeartbeatResponse:
    held = [(item.execution_id, item.attempt) for item in body.held]
    async with database.transaction() as session:
        await service.serialize_runner(session, runner.runner_id)
        await service.record_running(session, runner.runner_id, body.running)
        if not held:
            return HeartbeatResponse(renewed=[], cancel=[], lost=[])
        renewal = await execution_claims.renew_leases(
            session, runner_id=runner.runner_id, held=held, lease_seconds=settings.lease_seconds
        )
    return HeartbeatResponse(renewed=renewal.renewed, cancel=renewal.cancel, lost=renewal.lost)


async def report(
    database: Database, runner: AuthenticatedRunner, items: Sequence[ReportItem | RefusedItem]
) -> list[ReportResult]:
    """Events and completions of several executions in one transaction, each item fenced: a
    refused item changes nothing and does not sink the others. An item the protocol refused
    (`RefusedItem`: its events or end are malformed) is answered `rejected` and never reaches
    the service (`record_reports` records the rest)."""
    accepted = [item for item in items if isinstance(item, ReportItem)]
    recorded = iter(await _record(database, runner, accepted) if accepted else [])
    return [_refused(item) if isinstance(item, RefusedItem) else next(recorded) for item in items]


def _refused(item: RefusedItem) -> ReportResult:
    log.warning("refused report for %s: %s", item.execution_id, item.detail)
    return ReportResult(
        execution_id=item.execution_id, attempt=item.attempt, result="rejected", detail=item.detail
    )


async def _record(
    database: Database, runner: AuthenticatedRunner, items: list[ReportItem]
) -> list[ReportResult]:
    reports = [
        execution_reports.Report(
            execution_id=item.execution_id,
            attempt=item.attempt,
            events=item.events,
            status=None if item.complete is None else item.complete.status,
            output=None if item.complete is None else item.complete.output,
            error=None if item.complete is None else item.complete.error,
        )
        for item in items
    ]
    async with database.transaction() as session:
        await service.serialize_runner(session, runner.runner_id)
        outcomes = await execution_reports.record_reports(
            session, runner_id=runner.runner_id, reports=reports
        )
    return [_outcome(item, outcome) for item, outcome in zip(items, outcomes, strict=True)]


def _outcome(item: ReportItem, refused: FlomationError | None) -> ReportResult:
    if refused is None:
        return _result(item, "ok", None)
    if isinstance(refused, StaleAttempt):
        return _result(item, "stale", refused.detail)
    if isinstance(refused, NotFound):
        return _result(item, "not_found", refused.detail)
    # A malformed item must not block the rest of the runner's reports forever.
    log.warning("refused report for %s: %s", item.execution_id, refused.detail)
    return _result(item, "rejected", refused.detail)


def _result(item: ReportItem, result: Verdict, detail: str | None) -> ReportResult:
    return ReportResult(
        execution_id=item.execution_id, attempt=item.attempt, result=result, detail=detail
    )


async def goodbye(database: Database, runner: AuthenticatedRunner) -> None:
    """The runner is exiting (after releasing what it held): offline at once."""
    async with database.transaction() as session:
        await service.serialize_runner(session, runner.runner_id)
        await service.say_goodbye(session, runner)
    log.info("runner %s said goodbye", runner.runner_id)


async def release(database: Database, runner: AuthenticatedRunner, body: ReleaseRequest) -> None:
    if not body.executions:
        return
    async with database.transaction() as session:
        await service.serialize_runner(session, runner.runner_id)
        await execution_reports.release_executions(
            session,
            runner_id=runner.runner_id,
            ids=[item.execution_id for item in body.executions],
        )


async def start_subflow(
    database: Database, runner: AuthenticatedRunner, body: SubflowRequest
) -> SubflowStarted:
    """Queue the child execution of a subflow node, once per `request_key`."""
    async with database.transaction() as session:
        parent = await execution_views.get_summary(
            session, organization_id=runner.organization_id, execution_id=body.parent_execution_id
        )
        if (
            parent.runner_id != runner.runner_id
            or parent.attempt != body.parent_attempt
            or parent.status != "running"
        ):
            raise StaleAttempt(body.parent_execution_id, body.parent_attempt)
        depth = parent.depth + 1
        if depth > MAX_SUBFLOW_DEPTH:
            raise Conflict(
                f"Subflows nest at most {MAX_SUBFLOW_DEPTH} deep; node {body.node_id!r} of "
                f"execution {parent.id} would start one at depth {depth}",
                extra={"max_depth": MAX_SUBFLOW_DEPTH},
            )
        try:
            async with session.begin_nested():
                child = await execution_requests.request_execution(
                    session,
                    organization_id=runner.organization_id,
                    flow_id=body.flow_id,
                    input=body.input,
                    trigger={
                        "type": "subflow",
                        "parent_execution_id": parent.id,
                        "node_id": body.node_id,
                    },
                    parent_execution_id=parent.id,
                    depth=depth,
                    dedupe_key=f"subflow:{parent.id}:{body.request_key}",
                )
        except DuplicateExecution as duplicate:
            return SubflowStarted(execution_id=duplicate.execution_id, depth=depth)
    return SubflowStarted(execution_id=child.id, depth=depth)


def _state(view: ExecutionSummary) -> SubflowState:
    return SubflowState(
        execution_id=view.id,
        status=ExecutionStatus(view.status),
        ended=view.status in FINAL_STATUSES,
        output=view.output,
        error=view.error if isinstance(view.error, dict) else None,
    )


async def subflow_state(
    database: Database,
    notifier: Notifier | None,
    runner: AuthenticatedRunner,
    execution_id: str,
    wait_s: float,
) -> SubflowState:
    """The child's state; waits (bounded) until it ends, woken by its own events."""
    loop = asyncio.get_running_loop()
    until = loop.time() + max(0.0, min(wait_s, MAX_SUBFLOW_WAIT_S))
    with _subscribe(notifier, execution_id=execution_id) as subscription:
        while True:
            async with database.transaction() as session:
                view = await execution_views.get_summary(
                    session, organization_id=runner.organization_id, execution_id=execution_id
                )
            state = _state(view)
            remaining = until - loop.time()
            if state.ended or remaining <= 0:
                return state
            # Some ends (maintenance timing it out) may not publish: recheck every few seconds.
            await subscription.wait(min(remaining, 5.0))
