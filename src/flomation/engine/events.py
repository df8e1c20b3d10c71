"""Execution events, the sink protocol, and the recorder that folds events into an execution.

The executor emits one ordered stream per execution; every event has a `seq` that increases
by one. Kinds:

| kind | data |
| --- | --- |
| `execution.started` | `input`, `execution_id`, `attempt`, `flow_id`, `flow_revision` |
| `node.started` | `step`, `node_id`, `visit`, `iteration`, `parent_step`, `attempt`, `input` |
| `node.retrying` | `step`, `node_id`, `attempt` (the one that failed), `error`, `delay_s` |
| `node.succeeded` | `step`, `node_id`, `attempts`, `output`, `port`, `duration_ms`, `reused`? |
| `node.failed` | `step`, `node_id`, `attempts`, `error`, `handled` (error port), `duration_ms` |
| `node.skipped` | `step`, `node_id`, `visit`, `iteration`, `parent_step` |
| `node.cancelled` | `step`, `node_id`, `attempts`, `duration_ms` |
| `log` | `node_id`, `step`, `level`, `message` |
| `execution.finished` | `status`, `output`, `error` |

Values in events are masked (secrets as `***`); outputs and inputs above the size limit are
replaced by a JSON preview with `output_truncated`/`input_truncated` set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "EventSink",
    "ExecutionEvent",
    "ExecutionRecorder",
    "ListSink",
    "MultiSink",
    "NullSink",
    "format_time",
]


def format_time(timestamp: float) -> str:
    """RFC 3339 in UTC with a `Z`."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ExecutionEvent:
    seq: int
    kind: str
    ts: float  # time.time() when it happened; `at` is its RFC 3339 form
    data: dict[str, Any]

    @property
    def at(self) -> str:
        return format_time(self.ts)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "at": self.at, **self.data}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> ExecutionEvent:
        """The inverse of `to_dict` (events sent by a runner, folded by the API)."""
        data = {k: v for k, v in value.items() if k not in ("seq", "kind", "at")}
        timestamp = datetime.fromisoformat(str(value["at"])).timestamp()
        return cls(int(value["seq"]), str(value["kind"]), timestamp, data)


@runtime_checkable
class EventSink(Protocol):
    async def emit(self, event: ExecutionEvent) -> None: ...


class NullSink:
    async def emit(self, event: ExecutionEvent) -> None:
        return None


class ListSink:
    """Keeps every event (tests, small tools)."""

    def __init__(self) -> None:
        self.events: list[ExecutionEvent] = []

    async def emit(self, event: ExecutionEvent) -> None:
        self.events.append(event)


class MultiSink:
    """Sends each event to several sinks in order."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = sinks

    async def emit(self, event: ExecutionEvent) -> None:
        for sink in self.sinks:
            await sink.emit(event)


_STEP_END = {
    "node.succeeded": "succeeded",
    "node.failed": "failed",
    "node.skipped": "skipped",
    "node.cancelled": "cancelled",
}
_STEP_DATA = (
    "input",
    "input_truncated",
    "output",
    "output_truncated",
    "error",
    "port",
    "duration_ms",
)


class ExecutionRecorder:
    """Folds events into the execution document of the API spec.

    `document()` gives `{status, input, output, error, started_at, finished_at, steps, logs}`
    (the API adds its own fields: id, flow_id, trigger, ...). Steps are in start order with
    `{node_id, status, visit, iteration, attempts, input, output, error, started_at,
    finished_at}` plus `step`, `parent_step`, `port` and `reused` when a retry reused them.
    """

    def __init__(self) -> None:
        self.status = "queued"
        self.input: Any = None
        self.output: Any = None
        self.error: dict[str, Any] | None = None
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.steps: dict[int, dict[str, Any]] = {}
        self.logs: list[dict[str, Any]] = []
        self.last_seq = 0

    async def emit(self, event: ExecutionEvent) -> None:
        self.fold(event)

    def fold(self, event: ExecutionEvent) -> None:
        self.last_seq = event.seq
        data = event.data
        kind = event.kind
        if kind == "execution.started":
            self.status = "running"
            self.input = data.get("input")
            self.started_at = event.ts
        elif kind == "execution.finished":
            self.status = data["status"]
            self.output = data.get("output")
            self.error = data.get("error")
            self.finished_at = event.ts
        elif kind == "log":
            self.logs.append(
                {
                    "at": event.ts,
                    "node_id": data.get("node_id"),
                    "level": data["level"],
                    "message": data["message"],
                }
            )
        elif kind.startswith("node."):
            self._fold_step(kind, event.ts, data)

    def _fold_step(self, kind: str, at: float, data: dict[str, Any]) -> None:
        step = self.steps.get(data["step"])
        if step is None:
            step = {
                "step": data["step"],
                "node_id": data["node_id"],
                "status": "running",
                "visit": data.get("visit"),
                "iteration": data.get("iteration"),
                "parent_step": data.get("parent_step"),
                "attempts": 0,
                "input": None,
                "output": None,
                "error": None,
                "started_at": at,
                "finished_at": None,
            }
            self.steps[data["step"]] = step
        if kind == "node.retrying":
            # The failed attempt's error is the retrying event's; the step keeps its outcome.
            step["attempts"] = max(step["attempts"], data["attempt"] + 1)
            return
        for key in _STEP_DATA:
            if key in data:
                step[key] = data[key]
        if "attempt" in data:
            step["attempts"] = max(step["attempts"], data["attempt"])
        if "attempts" in data:
            step["attempts"] = data["attempts"]
        if data.get("reused"):
            step["reused"] = True
        status = _STEP_END.get(kind)
        if status is not None:
            step["status"] = status
            step["finished_at"] = at

    def document(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "started_at": _time_or_none(self.started_at),
            "finished_at": _time_or_none(self.finished_at),
            "steps": [
                {
                    **step,
                    "started_at": _time_or_none(step["started_at"]),
                    "finished_at": _time_or_none(step["finished_at"]),
                }
                for step in self.steps.values()
            ],
            "logs": [{**line, "at": format_time(line["at"])} for line in self.logs],
        }


def _time_or_none(timestamp: float | None) -> str | None:
    return None if timestamp is None else format_time(timestamp)
