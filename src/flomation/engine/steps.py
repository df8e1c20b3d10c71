"""Folding node events into steps: the one rule for what a step shows, whoever folds them (the
engine recording an execution it runs, the API storing what a runner reports).

A step is a plain dict, created by its first event and changed in place by every later one.
Its time values are whatever the caller keeps (`at`): seconds since the epoch, or datetimes.
The events and their data are the node events of `flomation.protocol.events`, as checked
there (`step` and `attempt` are integers, `node_id` a string).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from flomation.protocol.events import STEP_ENDS, EventKind
from flomation.protocol.statuses import StepStatus

__all__ = ["fold_step"]

# Module globals for the hot path (the engine folds every node event of every execution).
_NODE_RETRYING = EventKind.NODE_RETRYING
_RUNNING = StepStatus.RUNNING
# The data a step takes over from any of its events (but `node.retrying`) that carries it.
_STEP_DATA = (
    "input",
    "input_truncated",
    "output",
    "output_truncated",
    "error",
    "port",
    "duration_ms",
)


def fold_step(
    steps: MutableMapping[int, dict[str, Any]],
    kind: EventKind,
    data: Mapping[str, Any],
    at: Any,
) -> dict[str, Any]:
    """Fold one node event (`kind` is `node.*`, `data` has its `step` number and the rest of
    its data) that happened `at` into `steps`, keyed by step number; returns the step, new on
    the step's first event."""
    number: int = data["step"]
    step = steps.get(number)
    if step is None:
        step = {
            "step": number,
            "node_id": data["node_id"],
            "status": _RUNNING,
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
        steps[number] = step
    if kind == _NODE_RETRYING:
        # The failed attempt's error is the retrying event's; the step keeps its outcome.
        step["attempts"] = max(step["attempts"], data["attempt"] + 1)
        return step
    for key in _STEP_DATA:
        if key in data:
            step[key] = data[key]
    if "attempt" in data:
        step["attempts"] = max(step["attempts"], data["attempt"])
    if "attempts" in data:
        step["attempts"] = data["attempts"]
    if data.get("reused"):
        step["reused"] = True
    status = STEP_ENDS.get(kind)
    if status is not None:
        step["status"] = status
        step["finished_at"] = at
    return step
