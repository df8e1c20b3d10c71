"""Queue maintenance: the one home of every time-driven change to executions. It runs in the
API process (a LifespanHook) every `maintenance_interval_seconds`.

Safe with several API processes: each step works on rows it locked without waiting
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer at a time), and every update
re-checks the state it changes, so two passes never act twice on the same execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.config import Settings
from flomation.db.session import Database
from flomation.errors import FlomationError
from flomation.executions import claims as execution_claims
from flomation.executions import metrics
from flomation.executions import reports as execution_reports
from flomation.executions import requests as execution_requests
from flomation.executions.notifier import WorkNotifier
from flomation.executions.repository import maintenance as maintenance_repository
from flomation.protocol.statuses import ExecutionStatus
from flomation.secrets.crypto import Keyring, set_default_keyring
from flomation.timeutil import isoformat

log = logging.getLogger("flomation.executions.maintenance")

# The second runner lost while holding an execution fails it: an execution that kills its
# runner (a poison pill) must not be handed to one runner after another until none is left.
RUNNER_LOSSES_TO_FAIL = 2
RUNNER_LOST_MESSAGE = "runner lost while running this execution"
RECOVERY_DETAIL = f"requeued to run its on_error branch: {RUNNER_LOST_MESSAGE}"


@dataclass
class MaintenanceReport:
    requeued: int = 0
    # Requeued as a recovery attempt (only the flow's on_error branch) instead of failing.
    recoveries: int = 0
    runner_lost: int = 0
    cancelled: int = 0
    timed_out: int = 0
    pruned: int = 0
    error_flows: int = 0


def _error(kind: str, message: str, attempt: int) -> dict[str, Any]:
    return {"node_id": None, "type": kind, "message": message, "attempt": attempt}


class Maintenance:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    async def run_once(self) -> MaintenanceReport:
        """One pass of every step, each in its own short transaction."""
        report = MaintenanceReport()
        await self.expire_leases(report)
        await self.end_overdue_cancellations(report)
        await self.end_timed_out(report)
        await self.prune(report)
        await self.start_error_flows(report)
        await self.refresh_waiting(report)
        return report

    async def expire_leases(self, report: MaintenanceReport) -> None:
        """Leases that ran out: requeue (the next claim is attempt + 1), or end the execution
        when it was being cancelled, is past its deadline, used up `max_attempts`, or lost its
        runner for the `RUNNER_LOSSES_TO_FAIL`th time. A failed one goes the way of every
        failure the API records (`reports.end_executions`): its `end` event answers a parent
        waiting on it as a subflow, and the organisation's error flow starts.

        Runner lost, but its flow has an `on_error` node: it is requeued once more as a
        recovery attempt, which runs only that branch with the runner_lost error as `error`
        and ends the execution failed with it (a normal claim, lease and report, fenced by
        its own attempt). A recovery attempt whose lease runs out (lost, cancelled, overdue)
        ends the execution failed with that error: there is never a second one."""
        async with self.database.transaction() as session:
            expired = await maintenance_repository.lock_expired_leases(session)
            if not expired:
                return
            metrics.LEASE_EXPIRIES.inc(len(expired))
            # Cancelled or overdue executions end anyway; the others lost their runner.
            await maintenance_repository.count_runner_loss(
                session,
                [e.execution_id for e in expired if not e.cancel_requested and not e.past_deadline],
            )
            again = [e.execution_id for e in expired if self._retryable(e)]
            recover = await self._recoveries(session, expired)
            await maintenance_repository.requeue(session, [*again, *recover])
            await execution_reports.requeue_executions(
                session, again, detail="requeued: its runner stopped renewing the lease"
            )
            report.requeued += len(again)
            if recover:
                await maintenance_repository.set_recovery_errors(session, recover)
                await execution_reports.requeue_executions(
                    session, list(recover), detail=RECOVERY_DETAIL
                )
                log.warning(
                    "%s, requeued once to run its on_error branch only: %s",
                    RUNNER_LOST_MESSAGE,
                    ", ".join(recover),
                )
                report.recoveries += len(recover)
            outcomes: dict[ExecutionStatus, list[maintenance_repository.ExpiredLease]] = {}
            for lease in expired:
                if not self._retryable(lease) and lease.execution_id not in recover:
                    outcomes.setdefault(self._outcome(lease), []).append(lease)
            for status, leases in outcomes.items():
                ids = [lease.execution_id for lease in leases]
                await maintenance_repository.delete_queue_rows(session, ids)
                for lease in leases:
                    await execution_reports.end_executions(
                        session,
                        [lease.execution_id],
                        status=status,
                        output=None,
                        error=self._outcome_error(status, lease),
                    )
                if status == ExecutionStatus.FAILED:
                    log.warning(
                        "%s, not handed to another runner: %s",
                        RUNNER_LOST_MESSAGE,
                        ", ".join(
                            f"{lease.execution_id} (attempt {lease.attempt}, "
                            f"runners lost {lease.runner_losses + 1})"
                            for lease in leases
                        ),
                    )
                    report.runner_lost += len(ids)
                elif status == ExecutionStatus.CANCELLED:
                    report.cancelled += len(ids)
                else:
                    report.timed_out += len(ids)

    def _retryable(self, lease: maintenance_repository.ExpiredLease) -> bool:
        return (
            lease.recovery_error is None
            and not lease.cancel_requested
            and not lease.past_deadline
            and lease.attempt < self.settings.max_attempts
            # This expiry is one more loss than the lease counted.
            and lease.runner_losses + 1 < RUNNER_LOSSES_TO_FAIL
        )

    async def _recoveries(
        self, session: AsyncSession, expired: list[maintenance_repository.ExpiredLease]
    ) -> dict[str, dict[str, Any]]:
        """Of the leases that would end the execution as runner lost, those whose flow has an
        `on_error` node, with the error their recovery attempt ends with."""
        recover: dict[str, dict[str, Any]] = {}
        for lease in expired:
            if (
                self._retryable(lease)
                or self._outcome(lease) != ExecutionStatus.FAILED
                or lease.recovery_error is not None
            ):
                continue
            try:
                branch = await execution_claims.has_on_error(
                    session, lease.organization_id, lease.flow_id, lease.revision
                )
            except FlomationError as exc:  # its revision is unreadable: it just fails
                log.warning("no recovery attempt for %s: %s", lease.execution_id, exc.detail)
                continue
            if branch:
                recover[lease.execution_id] = _error(
                    "runner_lost", RUNNER_LOST_MESSAGE, lease.attempt
                )
        return recover

    @staticmethod
    def _outcome(lease: maintenance_repository.ExpiredLease) -> ExecutionStatus:
        if lease.recovery_error is not None:
            return ExecutionStatus.FAILED  # whatever ended its recovery attempt: it failed already
        if lease.cancel_requested:
            return ExecutionStatus.CANCELLED
        if lease.past_deadline:
            return ExecutionStatus.TIMED_OUT
        return ExecutionStatus.FAILED

    @staticmethod
    def _outcome_error(
        status: ExecutionStatus, lease: maintenance_repository.ExpiredLease
    ) -> dict[str, Any] | None:
        if lease.recovery_error is not None:
            return dict(lease.recovery_error)
        if status == ExecutionStatus.CANCELLED:
            return None
        if status == ExecutionStatus.TIMED_OUT:
            return _error("timeout", "the execution exceeded its timeout", lease.attempt)
        return _error("runner_lost", RUNNER_LOST_MESSAGE, lease.attempt)

    async def end_overdue_cancellations(self, report: MaintenanceReport) -> None:
        """A running execution whose runner did not confirm a cancel within a lease ends
        `cancelled` here (failed with its error, when it was a recovery attempt)."""
        async with self.database.transaction() as session:
            ids = await maintenance_repository.overdue_cancellations(
                session, self.settings.lease_seconds
            )
            held = await maintenance_repository.lock_queue_rows(session, ids)
            await maintenance_repository.delete_queue_rows(session, held)
            recovering = await self._end_recoveries(session, held, report)
            ended = await execution_reports.end_executions(
                session,
                [i for i in held if i not in recovering],
                status=ExecutionStatus.CANCELLED,
                output=None,
                error=None,
            )
            report.cancelled += len(ended)

    async def end_timed_out(self, report: MaintenanceReport) -> None:
        """Executions past their deadline (from the first start, across attempts) plus the
        margin the runner gets to report it itself end `timed_out` (failed with their error,
        when waiting for or running a recovery attempt)."""
        margin = self.settings.execution_timeout_margin_seconds
        async with self.database.transaction() as session:
            attempts = await maintenance_repository.overdue_deadlines(session, margin)
            held = await maintenance_repository.lock_queue_rows(session, list(attempts))
            await maintenance_repository.delete_queue_rows(session, held)
            recovering = await self._end_recoveries(session, held, report)
            for execution_id in held:
                if execution_id in recovering:
                    continue
                ended = await execution_reports.end_executions(
                    session,
                    [execution_id],
                    status=ExecutionStatus.TIMED_OUT,
                    output=None,
                    error=_error(
                        "timeout",
                        "the execution exceeded its timeout",
                        attempts[execution_id],
                    ),
                )
                report.timed_out += len(ended)

    @staticmethod
    async def _end_recoveries(
        session: AsyncSession, held: list[str], report: MaintenanceReport
    ) -> set[str]:
        """End failed, with their error, those of `held` (queue rows removed) that wait for
        or run a recovery attempt; their ids."""
        recovering = await maintenance_repository.recovery_errors(session, held)
        for execution_id, error in recovering.items():
            ended = await execution_reports.end_executions(
                session, [execution_id], status=ExecutionStatus.FAILED, output=None, error=error
            )
            report.runner_lost += len(ended)
        return set(recovering)

    async def prune(self, report: MaintenanceReport) -> None:
        async with self.database.transaction() as session:
            report.pruned += await maintenance_repository.prune_finished(
                session, self.settings.execution_retention_days
            )

    async def start_error_flows(self, report: MaintenanceReport) -> None:
        """For each execution that ended failed/timed_out, start its organisation's error flow
        (not for executions of the error flow itself), once: the dedupe key is per failure."""
        async with self.database.transaction() as session:
            for execution, error_flow_id in await maintenance_repository.lock_error_flow_pending(
                session
            ):
                await maintenance_repository.clear_error_flow_pending(session, execution.id)
                if error_flow_id is None or error_flow_id == execution.flow_id:
                    continue
                try:
                    async with session.begin_nested():
                        await execution_requests.request_execution(
                            session,
                            organization_id=execution.organization_id,
                            flow_id=error_flow_id,
                            input=_error_flow_input(execution),
                            trigger={"type": "error_flow", "execution_id": execution.id},
                            dedupe_key=f"error_flow:{execution.id}",
                        )
                    report.error_flows += 1
                except FlomationError as exc:
                    log.warning(
                        "error flow %s not started for execution %s: %s",
                        error_flow_id,
                        execution.id,
                        exc.detail,
                    )

    async def refresh_waiting(self, report: MaintenanceReport) -> None:
        """Say why queued executions wait, and publish the queue depth by label set."""
        from flomation.runners import service as runners_service

        async with self.database.transaction() as session:
            waiting = await maintenance_repository.waiting_label_sets(session)
            offered: dict[str, list[dict[str, str]]] = {}
            changes: dict[str | None, list[str]] = {}
            for execution_id, organization_id, labels, detail in waiting:
                if organization_id not in offered:
                    offered[organization_id] = await runners_service.online_label_sets(
                        session,
                        organization_id,
                        offline_after_s=self.settings.runner_offline_after_seconds,
                    )
                wanted = execution_requests.waiting_detail(labels, offered[organization_id])
                if wanted != detail:
                    changes.setdefault(wanted, []).append(execution_id)
            for detail_text, ids in changes.items():
                await maintenance_repository.set_status_detail(session, ids, detail_text)
            depths = await maintenance_repository.queue_depth_by_labels(session)
        totals: dict[str, int] = {}
        for labels, count in depths:
            key = metrics.labels_key(labels)
            totals[key] = totals.get(key, 0) + count
        metrics.set_queue_depth(totals)


def _error_flow_input(execution: Any) -> dict[str, Any]:
    return {
        "execution_id": execution.id,
        "flow_id": execution.flow_id,
        "revision": execution.revision,
        "status": execution.status,
        "error": execution.error,
        "input": execution.input,
        "trigger": execution.trigger,
        "attempt": execution.attempt,
        "finished_at": isoformat(execution.finished_at),
    }


async def _loop(maintenance: Maintenance, interval_s: float) -> None:
    while True:
        try:
            await maintenance.run_once()
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed pass must not stop the next one
            log.exception("queue maintenance pass failed")
        await asyncio.sleep(interval_s)


@asynccontextmanager
async def executions_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """LifespanHook of the API process: the keyring for secrets, the WorkNotifier on
    `app.state.work_notifier`, and the maintenance loop."""
    settings: Settings = app.state.settings
    database: Database = app.state.database
    set_default_keyring(Keyring.from_settings(settings))
    notifier = WorkNotifier(database)
    await notifier.start()
    app.state.work_notifier = notifier
    maintenance = Maintenance(database, settings)
    app.state.maintenance = maintenance
    task = asyncio.create_task(
        _loop(maintenance, settings.maintenance_interval_seconds), name="queue-maintenance"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await notifier.stop()
