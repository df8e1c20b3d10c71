"""Execution events, the sink protocol, and the recorder that folds events into an execution.

The executor emits one ordered stream per execution; every event has a `seq` that increases
by one. What each kind carries is defined once, in `flomation.protocol.events` (one model per
`EventKind`, the union `Event`): the engine builds its events as plain data, with those
fields, because it emits many and a model per event would cost on its hot path; the runner
and the API check them against the models where they cross a process boundary.

Every event must become JSON: a runner signs and sends them in batches shared by many
executions, so one value that is not JSON (an undefined template value, a non-finite float, a
lone surrogate, a key that is not a string) must be caught per execution, never when a batch
is serialised. `json_problem` says what is wrong and where; `json_safe` gives a copy that is
sure to serialise, with what could not be shown replaced by a note.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from flomation.engine.steps import fold_step
from flomation.protocol.events import EVENT, Event, EventKind
from flomation.protocol.statuses import ExecutionStatus
from flomation.timeutil import format_timestamp

__all__ = [
    "EventSink",
    "ExecutionEvent",
    "ExecutionRecorder",
    "ListSink",
    "MultiSink",
    "NullSink",
    "json_problem",
    "json_safe",
    "to_json_bytes",
]

# The kinds as module globals for the hot path: reading a member off its enum class costs
# several times the lookup of a global (Python 3.11), and the executor emits many events.
EXECUTION_STARTED = EventKind.EXECUTION_STARTED
NODE_STARTED = EventKind.NODE_STARTED
NODE_RETRYING = EventKind.NODE_RETRYING
NODE_SUCCEEDED = EventKind.NODE_SUCCEEDED
NODE_FAILED = EventKind.NODE_FAILED
NODE_SKIPPED = EventKind.NODE_SKIPPED
NODE_CANCELLED = EventKind.NODE_CANCELLED
LOG = EventKind.LOG
EXECUTION_FINISHED = EventKind.EXECUTION_FINISHED

# Deeper than this, values are not walked (the JSON encoder would hit the recursion limit).
JSON_MAX_DEPTH = 200


def to_json_bytes(value: Any) -> bytes:
    """Strict JSON (sorted keys, no spaces, UTF-8): raises `ValueError`, `TypeError` or
    `RecursionError` for anything a strict parser or PostgreSQL would refuse, including
    NaN and infinities (which `json.dumps` writes by default) and lone surrogates."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode()


def _describe(value: Any) -> str:
    kind = type(value).__name__
    if "Undefined" in kind:
        return f"an undefined value ({kind}): a template refers to something that does not exist"
    return f"a {kind}, which is not a JSON value"


def _string_problem(text: str) -> str | None:
    try:
        text.encode()
    except UnicodeEncodeError:
        return "a string with a lone surrogate, which is not valid Unicode"
    return None


def _path(parent: str, key: Any) -> str:
    return f"{parent}[{key}]" if isinstance(key, int) else f"{parent}.{key}"


# One strict encoder for every check: `json.dumps` with options builds a new encoder per call,
# which cost more than the encoding of a typical step's values (four checks per node).
# Keys sorted as `to_json_bytes` sorts them: mixed key types cannot be sorted, so they fail here.
_STRICT_CHECK = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
# A walk with no depth limit still stops here: a value holding itself would go on forever.
_WALK_LIMIT = 100_000


def json_problem(
    value: Any, root: str = "$", *, max_depth: int | None = JSON_MAX_DEPTH
) -> str | None:
    """What keeps `value` from being JSON, with where it is (`$.a[0]: ...`); None when it is
    JSON. Cheap in the common case: one strict encoding; the walk runs only on failure.

    With `max_depth=None`, depth is no problem (values passed between nodes may be nested
    deeper than the encoder goes; events show them cut, see `json_safe`)."""
    try:
        # Encoding to UTF-8 is what finds lone surrogates (the encoder keeps them).
        _STRICT_CHECK.encode(value).encode()
    except RecursionError:
        return _find_problem(value, root, max_depth)
    except (TypeError, ValueError):
        return _find_problem(value, root, max_depth) or f"{root}: not a JSON value"
    return None


def _find_problem(value: Any, root: str, max_depth: int | None) -> str | None:
    stack: list[tuple[Any, str, int]] = [(value, root, 0)]
    while stack:
        item, where, depth = stack.pop()
        if max_depth is not None and depth > max_depth:
            return f"{where}: nested too deeply (more than {max_depth} levels)"
        if depth > _WALK_LIMIT:
            return f"{where}: nested too deeply, or a value that holds itself"
        if isinstance(item, str):
            problem = _string_problem(item)
            if problem is not None:
                return f"{where}: {problem}"
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            try:
                str(item)
            except ValueError:
                return f"{where}: an integer too large to write as JSON"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{where}: {item} is not a JSON number"
        elif isinstance(item, dict):
            keys = list(item)
            for key in keys:
                if not isinstance(key, str):
                    return f"{where}: the key {key!r} is not a string (JSON keys are strings)"
                problem = _string_problem(key)
                if problem is not None:
                    return f"{where}: a key is {problem}"
            stack.extend((item[key], _path(where, key), depth + 1) for key in reversed(keys))
        elif isinstance(item, list | tuple):
            stack.extend(
                (sub, _path(where, index), depth + 1)
                for index, sub in reversed(list(enumerate(item)))
            )
        else:
            return f"{where}: {_describe(item)}"
    return None


def _safe_text(text: str, max_string: int | None) -> str:
    if _string_problem(text) is not None:
        # Lone surrogates become U+FFFD: what can be shown of the text is kept.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if max_string is not None and len(text) > max_string:
        return text[:max_string] + f"... ({len(text) - max_string} more characters)"
    return text


def json_safe(value: Any, *, max_string: int | None = None, _depth: int = 0) -> Any:
    """A copy of `value` that `to_json_bytes` always accepts: what is not JSON is replaced by a
    note saying what it was; keys become strings; with `max_string`, long strings are cut."""
    if isinstance(value, str):
        return _safe_text(value, max_string)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:
            return "(an integer too large to show)"
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if _depth >= JSON_MAX_DEPTH:
        return "(value nested too deeply to show)"
    if isinstance(value, dict):
        safe: dict[str, Any] = {}
        for key, sub in value.items():
            name = _safe_text(key if isinstance(key, str) else _key_text(key), max_string)
            safe[name] = json_safe(sub, max_string=max_string, _depth=_depth + 1)
        return safe
    if isinstance(value, list | tuple):
        return [json_safe(sub, max_string=max_string, _depth=_depth + 1) for sub in value]
    return f"({_describe(value)})"


def _key_text(key: Any) -> str:
    if key is None or isinstance(key, bool | int | float):
        try:
            return json.dumps(key)  # what `json.dumps` itself would have made of the key
        except ValueError:
            return "(an integer too large to show)"
    return f"({_describe(key)})"


@dataclass(frozen=True, slots=True)
class ExecutionEvent:
    """One event as the engine emits it: `data` holds the fields of its kind's model in
    `flomation.protocol.events`, beside `seq`, `kind` and `at`."""

    seq: int
    kind: EventKind
    ts: float  # time.time() when it happened; `at` is its RFC 3339 form
    data: dict[str, Any]

    @property
    def at(self) -> str:
        return format_timestamp(self.ts)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "at": self.at, **self.data}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> ExecutionEvent:
        """The inverse of `to_dict`, checked against the protocol's models (events sent by a
        runner, to fold): raises pydantic's `ValidationError`, saying where, for an event that
        is not one."""
        return cls.from_model(EVENT.validate_python(value))

    @classmethod
    def from_model(cls, event: Event) -> ExecutionEvent:
        """A checked event as the engine's own: the fields it was sent with, no defaults
        added (the recorder tells a field that is absent from one that is null)."""
        data = event.model_dump(exclude={"seq", "kind", "at"}, exclude_unset=True)
        return cls(event.seq, event.kind, event.at.timestamp(), data)


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


class ExecutionRecorder:
    """Folds events into the execution document of the API spec.

    `document()` gives `{status, input, output, error, started_at, finished_at, steps, logs}`
    (the API adds its own fields: id, flow_id, trigger, ...). Steps are in start order with
    `{node_id, status, visit, iteration, attempts, input, output, error, started_at,
    finished_at}` plus `step`, `parent_step`, `port` and `reused` when a retry reused them.
    """

    def __init__(self) -> None:
        self.status: ExecutionStatus = ExecutionStatus.QUEUED
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
        if kind == EXECUTION_STARTED:
            self.status = ExecutionStatus.RUNNING
            self.input = data.get("input")
            self.started_at = event.ts
        elif kind == EXECUTION_FINISHED:
            self.status = data["status"]
            self.output = data.get("output")
            self.error = data.get("error")
            self.finished_at = event.ts
        elif kind == LOG:
            self.logs.append(
                {
                    "at": event.ts,
                    "node_id": data.get("node_id"),
                    "level": data["level"],
                    "message": data["message"],
                }
            )
        elif kind.startswith("node."):
            fold_step(self.steps, kind, data, event.ts)

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
            "logs": [{**line, "at": format_timestamp(line["at"])} for line in self.logs],
        }


def _time_or_none(timestamp: float | None) -> str | None:
    return None if timestamp is None else format_timestamp(timestamp)
