"""Executions: the history (`executions`, `execution_steps` and `execution_step_packs`,
`execution_logs`, `execution_events`) and the small work queue (`execution_queue`).

The queue holds one row per execution that is waiting or running, and nothing else: claims
scan a partial index over the unleased rows only, so they stay fast however long the history
grows. A row is deleted when its execution ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from flomation.clock import utcnow
from flomation.db.base import Base, IdColumn, JSONValue
from flomation.ids import new_id
from flomation.protocol.statuses import FINAL_STATUSES as FINAL_STATUSES
from flomation.protocol.statuses import ExecutionStatus


class Execution(Base):
    """One run of one flow revision, kept for `execution_retention_days` after it ends."""

    __tablename__ = "executions"
    __table_args__ = (
        UniqueConstraint("organization_id", "dedupe_key"),
        UniqueConstraint("organization_id", "idempotency_key"),
        # Lists: newest first per organisation, optionally per flow and status.
        Index("ix_executions_org_id", "organization_id", "id"),
        Index("ix_executions_org_flow_id", "organization_id", "flow_id", "id"),
        Index("ix_executions_finished_at", "finished_at"),
        # Maintenance passes over the few executions that need attention.
        Index(
            "ix_executions_running_deadline",
            "deadline_at",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
        Index(
            "ix_executions_cancel_requested",
            "cancel_requested_at",
            postgresql_where=text("status = 'running' AND cancel_requested_at IS NOT NULL"),
            sqlite_where=text("status = 'running' AND cancel_requested_at IS NOT NULL"),
        ),
        Index(
            "ix_executions_error_flow_pending",
            "organization_id",
            postgresql_where=text("error_flow_pending"),
            sqlite_where=text("error_flow_pending"),
        ),
    )

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(IdColumn)
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=ExecutionStatus.QUEUED)
    status_detail: Mapped[str | None] = mapped_column(String(500), default=None)
    input: Mapped[Any] = mapped_column(JSONValue, nullable=True)
    output: Mapped[Any] = mapped_column(JSONValue, nullable=True, default=None)
    error: Mapped[Any] = mapped_column(JSONValue, nullable=True, default=None)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    # The labels a runner must carry: the flow's `runs_on` plus the request's.
    runs_on: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    timeout_s: Mapped[float | None] = mapped_column(Float, default=None)

    retry_of: Mapped[str | None] = mapped_column(IdColumn, default=None)
    from_node: Mapped[str | None] = mapped_column(String(64), default=None)
    # Outputs of the steps before `from_node`, handed to the runner to reuse on a retry.
    prior_outputs: Mapped[Any] = mapped_column(JSONValue, nullable=True, default=None)
    parent_execution_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    depth: Mapped[int] = mapped_column(Integer, default=0)

    attempt: Mapped[int] = mapped_column(Integer, default=0)
    # How many times a runner died holding this execution (its lease expired): the second
    # loss fails the execution rather than handing a poison pill to yet another runner.
    runner_losses: Mapped[int] = mapped_column(Integer, default=0)
    # Set when that loss requeued it as a recovery attempt (its flow has an `on_error` node):
    # the error it ends `failed` with ("runner lost"), which the attempt's on_error branch
    # gets as `error`. A recovery attempt is never followed by another attempt.
    recovery_error: Mapped[Any] = mapped_column(JSONValue, nullable=True, default=None)
    runner_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(300), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # The sequence number of the latest entry in execution_events.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when the execution ends failed/timed_out; maintenance starts the error flow.
    error_flow_pending: Mapped[bool] = mapped_column(Boolean, default=False)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    first_started_at: Mapped[datetime | None] = mapped_column(default=None)
    deadline_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(default=None)


class QueueEntry(Base):
    """An execution that is waiting for a runner (`lease_owner` null) or held by one."""

    __tablename__ = "execution_queue"
    __table_args__ = (
        # What a claim scans: only the unleased rows.
        Index(
            "ix_execution_queue_claimable",
            "organization_id",
            "available_at",
            "execution_id",
            postgresql_where=text("lease_owner IS NULL"),
            sqlite_where=text("lease_owner IS NULL"),
        ),
        # Claimable rows of flows with a concurrency limit (the claim locks those flows first).
        Index(
            "ix_execution_queue_limited",
            "organization_id",
            "flow_id",
            postgresql_where=text("lease_owner IS NULL AND max_concurrent IS NOT NULL"),
            sqlite_where=text("lease_owner IS NULL AND max_concurrent IS NOT NULL"),
        ),
        # What maintenance and the concurrency limit read: the leased rows.
        Index(
            "ix_execution_queue_leased",
            "lease_expires_at",
            postgresql_where=text("lease_owner IS NOT NULL"),
            sqlite_where=text("lease_owner IS NOT NULL"),
        ),
        Index("ix_execution_queue_flow_lease", "flow_id", "lease_owner"),
    )

    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[str] = mapped_column(IdColumn)
    flow_id: Mapped[str] = mapped_column(IdColumn)
    labels: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    # The flow's max_concurrent_executions when the execution was requested (null: no limit).
    max_concurrent: Mapped[int | None] = mapped_column(Integer, default=None)
    lease_owner: Mapped[str | None] = mapped_column(IdColumn, default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExecutionStep(Base):
    """One node's run in one visit and iteration, upserted as the runner reports it.

    `step_key` is `node_id|visit|iteration` (iteration as JSON: it may be a path of nested
    foreach indexes). `step` is the engine's step number within `run_attempt`, by which the
    runner's later events about the same step find it.
    """

    __tablename__ = "execution_steps"
    __table_args__ = (Index("ix_execution_steps_step", "execution_id", "run_attempt", "step"),)

    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    step_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64))
    visit: Mapped[int | None] = mapped_column(Integer, default=None)
    iteration: Mapped[Any] = mapped_column(JSONValue, nullable=True, default=None)
    run_attempt: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[int] = mapped_column(Integer, default=0)
    parent_step: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    input: Mapped[Any] = mapped_column(JSONValue, nullable=True, default=None)
    output: Mapped[Any] = mapped_column(JSONValue, nullable=True, default=None)
    error: Mapped[Any] = mapped_column(JSONValue, nullable=True, default=None)
    port: Mapped[str | None] = mapped_column(String(64), default=None)
    reused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The stored output is a preview (too large): a retry cannot reuse it.
    output_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The sequence number of the event that first recorded this step (orders steps in a view).
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class ExecutionStepPack(Base):
    """Steps inside foreach iterations that began and ended within one report, stored as one
    row per report instead of one per step: a foreach over 1,000 items writes a few rows
    instead of a thousand. Each item of `steps` is a step as the API shows it (`StepView` as
    JSON) with its `step` number, `seq`, `parent_step` and `output_truncated`. A step still
    running at the end of its report is an `ExecutionStep` row, updated until it ends.

    `pack_key` is `<run_attempt>:<first step number>`, so that a report sent again (its
    answer lost) replaces its pack. `seq` is the first step's, for ordering.
    """

    __tablename__ = "execution_step_packs"

    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    pack_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_attempt: Mapped[int] = mapped_column(Integer, default=0)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    steps: Mapped[Any] = mapped_column(JSONValue)


class ExecutionLog(Base):
    """A log line of an execution; `seq` is the line's event sequence number."""

    __tablename__ = "execution_logs"

    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    node_id: Mapped[str | None] = mapped_column(String(64), default=None)
    level: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)


class ExecutionEvent(Base):
    """What the event stream replays: `step`, `log`, `execution` and `end` events, in order."""

    __tablename__ = "execution_events"

    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    payload: Mapped[Any] = mapped_column(JSONValue)
