"""Shapes of the executions domain: what the API answers and what the runners domain receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, with_config
from typing_extensions import TypedDict

# The status vocabulary is the protocol's, named here too for the domain's own modules.
from flomation.protocol.leases import ClaimedConnection
from flomation.protocol.reports import FinalStatus as FinalStatus
from flomation.protocol.statuses import ExecutionStatus as ExecutionStatus
from flomation.protocol.statuses import StepStatus as StepStatus


@with_config(ConfigDict(extra="allow"))
class ErrorInfo(TypedDict, total=False):
    """Why a step or an execution failed, as the engine and the runner report it (other fields
    may follow)."""

    node_id: str | None
    type: str
    message: str
    attempt: int


@with_config(ConfigDict(extra="allow"))
class TriggerInfo(TypedDict):
    """What started an execution: its `type` (manual, retry, error_flow, a trigger's type...),
    the trigger's `id` when one fired, and fields of that type."""

    type: str
    id: NotRequired[str]


# The shapes below describe what the engine, the runner and the services store; the views
# pass stored values through as they are (SkipValidation), so the answers do not change.
StoredError = Annotated[ErrorInfo | None, SkipValidation]
StoredTrigger = Annotated[TriggerInfo, SkipValidation]
Iteration = Annotated[
    int | list[int] | None,
    SkipValidation,
    Field(description="The foreach item's index; one index per loop inside nested loops"),
]


class StepView(BaseModel):
    node_id: str
    status: StepStatus
    visit: int | None = None
    iteration: Iteration = None
    attempts: int
    input: Any = None
    output: Any = None
    error: StoredError = None
    port: str | None = None
    reused: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None


class LogView(BaseModel):
    seq: int
    at: datetime
    node_id: str | None = None
    level: str
    message: str


class ExecutionSummary(BaseModel):
    """An execution without its steps and logs (lists, stream events)."""

    id: str
    flow_id: str
    revision: int
    status: ExecutionStatus
    status_detail: str | None = None
    input: Any = None
    output: Any = None
    error: StoredError = None
    trigger: StoredTrigger
    runs_on: dict[str, str] = Field(default_factory=dict)
    retry_of: str | None = None
    from_node: str | None = None
    parent_execution_id: str | None = None
    depth: int = 0
    runner_id: str | None = None
    attempt: int = 0
    queued_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    deadline_at: datetime | None = None
    cancel_requested_at: datetime | None = None


class ExecutionView(ExecutionSummary):
    """`GET /api/v1/executions/{id}`: the execution with its steps and logs."""

    steps: list[StepView] = Field(default_factory=list)
    logs: list[LogView] = Field(default_factory=list)


class StepEvent(BaseModel):
    """A step began, retried or ended: the step as it is now."""

    seq: int
    event: Literal["step"]
    data: StepView


class LogEvent(BaseModel):
    """A log line of the execution."""

    seq: int
    event: Literal["log"]
    data: LogView


class ExecutionChangedEvent(BaseModel):
    """The execution changed (requested, claimed, cancel requested, requeued, ended)."""

    seq: int
    event: Literal["execution"]
    data: ExecutionSummary


class ExecutionEndEvent(BaseModel):
    """The last event of the stream: the execution as it ended."""

    seq: int
    event: Literal["end"]
    data: ExecutionSummary


ExecutionStreamEvent = Annotated[
    StepEvent | LogEvent | ExecutionChangedEvent | ExecutionEndEvent,
    Field(discriminator="event"),
]
"""One message of `GET /api/v1/executions/{id}/events`: its SSE `id` is `seq`, its `event`
is `event` and its `data` is `data` as JSON."""


class ExecutionPage(BaseModel):
    items: list[ExecutionSummary]
    next_cursor: str | None = None


class ExecutionRequest(BaseModel):
    """Body of `POST /api/v1/flows/{id}/executions`."""

    model_config = ConfigDict(extra="forbid")

    input: Any = None
    revision: int | None = Field(default=None, ge=1)
    runs_on: dict[str, str] | None = None


class RetryRequest(BaseModel):
    """Body of `POST /api/v1/executions/{id}/retry`."""

    model_config = ConfigDict(extra="forbid")

    from_node: str | None = None


class CancelAccepted(BaseModel):
    id: str
    status: ExecutionStatus
    cancel_requested_at: datetime | None = None


@dataclass(frozen=True)
class ClaimedExecution:
    """What a runner receives for one claimed execution (the runners domain serialises it).

    `attempt` is the fencing token: every later call about this execution (events, complete,
    lease renewal) names it, and is refused once another attempt has taken over.
    `deadline_at` is when the whole execution times out (from its first start, across
    attempts), or None. For a retry from `from_node`, `prior_outputs` maps the node ids before
    it to `{"output", "port"}` of their succeeded steps in the retried execution, which the
    runner reuses instead of running those nodes again (`flomation.engine.executor.PriorStep`).
    `recovery_error` set makes this a recovery attempt: the runner runs only the flow's
    on_error branch, with it as `error`, and ends the execution `failed` with it.
    """

    id: str
    organization_id: str
    flow_id: str
    revision: int
    attempt: int
    definition: dict[str, Any]
    input: Any
    trigger: dict[str, Any]
    lease_expires_at: datetime
    deadline_at: datetime | None
    timeout_s: float | None
    depth: int
    parent_execution_id: str | None
    from_node: str | None
    prior_outputs: dict[str, Any] | None
    variables: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    recovery_error: dict[str, Any] | None = None
    # Decrypted, and only those the definition references.
    connections: dict[str, ClaimedConnection] = field(default_factory=dict)
    # The imported OpenAPI services the definition's nodes use, as stored.
    imported_services: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class LeaseRenewal:
    """Answer to a heartbeat. `renewed`: leases extended. `cancel`: executions the runner must
    stop now and complete as `cancelled` (cancel requested) or `timed_out` (deadline passed);
    their leases are renewed too so the runner can report. `lost`: not held by this runner and
    attempt any more (requeued, ended, superseded): stop them and report nothing."""

    renewed: list[str]
    cancel: list[str]
    lost: list[str]
