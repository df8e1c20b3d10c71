"""The engine's execution events, as the runner reports them and the API records them.

One ordered stream per execution attempt: every event has a `seq` that increases by one and
`at`, when it happened (RFC 3339). On the wire an event is flat, `{"seq", "kind", "at",
...data}`, one model per `kind` below, told apart by `kind` (`Event`).

Values in events are masked (secrets as `***`); inputs and outputs above the engine's size
limit are a JSON preview with `input_truncated`/`output_truncated` set.

The engine builds its events as plain data on its hot path and names their kinds with
`EventKind`; these models check them where they cross a process boundary.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StrictBool, StrictInt, TypeAdapter

from flomation.protocol.base import Strict
from flomation.protocol.statuses import ExecutionStatus, StepStatus

LogLevel = Literal["debug", "info", "warning", "error"]


class EventKind(StrEnum):
    EXECUTION_STARTED = "execution.started"
    NODE_STARTED = "node.started"
    NODE_RETRYING = "node.retrying"
    NODE_SUCCEEDED = "node.succeeded"
    NODE_FAILED = "node.failed"
    NODE_SKIPPED = "node.skipped"
    NODE_CANCELLED = "node.cancelled"
    LOG = "log"
    EXECUTION_FINISHED = "execution.finished"


# The kinds that end a step, and the status each gives it.
STEP_ENDS: dict[EventKind, StepStatus] = {
    EventKind.NODE_SUCCEEDED: StepStatus.SUCCEEDED,
    EventKind.NODE_FAILED: StepStatus.FAILED,
    EventKind.NODE_SKIPPED: StepStatus.SKIPPED,
    EventKind.NODE_CANCELLED: StepStatus.CANCELLED,
}

Step = Annotated[StrictInt, Field(ge=1, description="The step's number in this attempt")]
NodeId = Annotated[str, Field(min_length=1, max_length=64)]
Visit = Annotated[StrictInt | None, Field(description="How many times the node ran, this one")]


class _Event(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: StrictInt = Field(ge=1)
    at: AwareDatetime


class ExecutionStarted(_Event):
    kind: Literal[EventKind.EXECUTION_STARTED]
    input: Any = None
    execution_id: str
    attempt: StrictInt
    flow_id: str
    flow_revision: StrictInt


class NodeStarted(_Event):
    kind: Literal[EventKind.NODE_STARTED]
    step: Step
    node_id: NodeId
    visit: Visit
    iteration: Any = None
    parent_step: StrictInt | None = None
    attempt: StrictInt = Field(ge=1)
    input: Any = None
    input_truncated: bool = False
    reused: bool = False


class NodeRetrying(_Event):
    kind: Literal[EventKind.NODE_RETRYING]
    step: Step
    node_id: NodeId
    attempt: StrictInt = Field(ge=1, description="The attempt that failed")
    error: dict[str, Any]
    delay_s: float


class NodeSucceeded(_Event):
    kind: Literal[EventKind.NODE_SUCCEEDED]
    step: Step
    node_id: NodeId
    attempts: StrictInt = Field(ge=1)
    output: Any = None
    output_truncated: bool = False
    port: str
    duration_ms: float | None = Field(default=None, description="None when a retry reused it")
    reused: bool = False


class NodeFailed(_Event):
    kind: Literal[EventKind.NODE_FAILED]
    step: Step
    node_id: NodeId
    attempts: StrictInt = Field(ge=1)
    error: dict[str, Any]
    handled: StrictBool = Field(description="Its error port takes the error")
    duration_ms: float


class NodeSkipped(_Event):
    kind: Literal[EventKind.NODE_SKIPPED]
    step: Step
    node_id: NodeId
    visit: Visit
    iteration: Any = None
    parent_step: StrictInt | None = None


class NodeCancelled(_Event):
    kind: Literal[EventKind.NODE_CANCELLED]
    step: Step
    node_id: NodeId
    attempts: StrictInt = Field(ge=1)
    duration_ms: float


class LogLine(_Event):
    kind: Literal[EventKind.LOG]
    node_id: str | None
    step: StrictInt | None = None
    level: LogLevel
    message: str


class ExecutionFinished(_Event):
    kind: Literal[EventKind.EXECUTION_FINISHED]
    status: ExecutionStatus
    output: Any = None
    error: dict[str, Any] | None = None


NodeEvent = NodeStarted | NodeRetrying | NodeSucceeded | NodeFailed | NodeSkipped | NodeCancelled
Event = Annotated[
    ExecutionStarted
    | NodeStarted
    | NodeRetrying
    | NodeSucceeded
    | NodeFailed
    | NodeSkipped
    | NodeCancelled
    | LogLine
    | ExecutionFinished,
    Field(discriminator="kind"),
]
EVENT: TypeAdapter[Event] = TypeAdapter(Event)
EVENTS: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
