"""The runner protocol: what runners and the API say to each other, and the engine's events.

Both sides import these models: the API declares them on its endpoints (so the OpenAPI
document describes every runner call), the runner builds its requests and reads the answers
with them, and the engine names its event kinds with `EventKind`. This package imports no
other part of Flomation but itself.
"""

from flomation.protocol.base import Strict, check_labels
from flomation.protocol.events import (
    EVENT,
    EVENTS,
    STEP_ENDS,
    Event,
    EventKind,
    ExecutionFinished,
    ExecutionStarted,
    LogLevel,
    LogLine,
    NodeCancelled,
    NodeEvent,
    NodeFailed,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
    NodeSucceeded,
)
from flomation.protocol.leases import (
    ClaimedConnection,
    ClaimedExecution,
    ClaimRequest,
    ClaimResponse,
    GoodbyeRequest,
    HeartbeatRequest,
    HeartbeatResponse,
    HeldExecution,
    ReleaseRequest,
)
from flomation.protocol.probes import ProbeRequest, ProbeResult
from flomation.protocol.registration import RegisterRequest, RegisterResponse
from flomation.protocol.reports import (
    BatchItem,
    CompleteRequest,
    Completion,
    FinalStatus,
    RefusedItem,
    ReportItem,
    ReportRequest,
    ReportResponse,
    ReportResult,
    Verdict,
    describe,
)
from flomation.protocol.statuses import FINAL_STATUSES, ExecutionStatus, StepStatus
from flomation.protocol.subflows import SubflowRequest, SubflowStarted, SubflowState

__all__ = [
    "EVENT",
    "EVENTS",
    "FINAL_STATUSES",
    "STEP_ENDS",
    "BatchItem",
    "ClaimRequest",
    "ClaimResponse",
    "ClaimedConnection",
    "ClaimedExecution",
    "CompleteRequest",
    "Completion",
    "Event",
    "EventKind",
    "ExecutionFinished",
    "ExecutionStarted",
    "ExecutionStatus",
    "FinalStatus",
    "GoodbyeRequest",
    "HeartbeatRequest",
    "HeartbeatResponse",
    "HeldExecution",
    "LogLevel",
    "LogLine",
    "NodeCancelled",
    "NodeEvent",
    "NodeFailed",
    "NodeRetrying",
    "NodeSkipped",
    "NodeStarted",
    "NodeSucceeded",
    "ProbeRequest",
    "ProbeResult",
    "RefusedItem",
    "RegisterRequest",
    "RegisterResponse",
    "ReleaseRequest",
    "ReportItem",
    "ReportRequest",
    "ReportResponse",
    "ReportResult",
    "StepStatus",
    "Strict",
    "SubflowRequest",
    "SubflowStarted",
    "SubflowState",
    "Verdict",
    "check_labels",
    "describe",
]
