"""A user's actions on an execution: cancel and retry."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.errors import Conflict
from flomation.executions.notifier import execution_topic, publish_after_commit, runner_topic
from flomation.executions.reports import end_executions
from flomation.executions.repository import actions as actions_repository
from flomation.executions.repository import maintenance as maintenance_repository
from flomation.executions.requests import request_execution
from flomation.executions.schemas import CancelAccepted, ExecutionView
from flomation.executions.views import event_payload, execution_row
from flomation.models.executions import Execution
from flomation.protocol.statuses import FINAL_STATUSES, ExecutionStatus


async def cancel_execution(
    session: AsyncSession, *, organization_id: str, execution_id: str
) -> CancelAccepted:
    """Cancel: a waiting execution ends `cancelled` at once (`failed` with its error when it
    waits for a recovery attempt); a running one is marked cancel-requested (its runner
    learns it on its next heartbeat, and maintenance ends it `cancelled` if the runner does
    not within a lease). `Conflict` when it already ended."""
    execution = await execution_row(session, organization_id, execution_id)
    if execution.status in FINAL_STATUSES:
        raise _already_ended(execution)
    entry = await actions_repository.lock_queue_row(session, execution_id)  # queue row first
    if entry is not None and entry.lease_owner is None:
        await maintenance_repository.delete_queue_rows(session, [execution_id])
        # Waiting for its recovery attempt, it has failed already: it ends failed, with the
        # error that attempt would have ended with, and no on_error branch.
        recovery = execution.recovery_error or None
        status = ExecutionStatus.FAILED if recovery else ExecutionStatus.CANCELLED
        ended = await end_executions(
            session, [execution_id], status=status, output=None, error=recovery
        )
        if ended:
            return CancelAccepted(id=execution_id, status=status)
    else:
        requested = await actions_repository.request_cancel(session, execution_id)
        if requested is not None:
            await actions_repository.append_events(
                session, execution_id, [("execution", event_payload(requested))]
            )
            topics = [execution_topic(execution_id)]
            if requested.runner_id is not None:
                topics.append(runner_topic(requested.runner_id))
            await publish_after_commit(session, *topics)
            return CancelAccepted(
                id=execution_id,
                status=ExecutionStatus.RUNNING,
                cancel_requested_at=requested.cancel_requested_at,
            )
    raise _already_ended(await execution_row(session, organization_id, execution_id))


def _already_ended(execution: Execution) -> Conflict:
    return Conflict(
        f"Execution {execution.id} has already ended ({execution.status})",
        extra={"status": execution.status},
    )


async def retry_execution(
    session: AsyncSession, *, organization_id: str, execution_id: str, from_node: str | None = None
) -> ExecutionView:
    """A new execution with the same input and revision (`retry_of` set, trigger `retry`);
    from a node, the outputs of the nodes before it are reused. `Conflict` while the
    original still runs."""
    original = await execution_row(session, organization_id, execution_id)
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
