"""What events show of the values a flow handles (node inputs and outputs, the execution's
input, output and errors, log messages): masked, sure to become JSON, and at most
`EVENT_VALUE_LIMIT` characters as JSON (a longer one is cut and marked `<name>_truncated`).
Between nodes the values stay whole: only the events' copies are cut.
"""

from __future__ import annotations

import json
from typing import Any

from flomation.engine.events import json_problem, json_safe
from flomation.engine.masking import Masker
from flomation.engine.nodes.base import NodeError

__all__ = ["EVENT_VALUE_LIMIT", "EventValues"]

# Outputs and inputs larger than this (as JSON) are truncated in events, never between nodes.
EVENT_VALUE_LIMIT = 64 * 1024

_TOO_DEEP = "(value nested too deeply to show)"


def _json_text(value: Any) -> str:
    """JSON text as events carry it; raises for what is not JSON (NaN, lone surrogates)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    text.encode()  # a lone surrogate raises UnicodeEncodeError (a ValueError) here
    return text


def _quick_size(value: Any, depth: int) -> int:
    """JSON size bound of a small value (scalars, small mappings of them), or -1."""
    if isinstance(value, str):
        return len(value) * 6 + 2
    if value is None or isinstance(value, int | float):
        return 24
    if depth and isinstance(value, dict) and len(value) <= 8:
        total = 2
        for key, sub in value.items():
            size = _quick_size(sub, depth - 1)
            if size < 0 or not isinstance(key, str):
                return -1
            total += len(key) * 6 + size + 4
        return total
    return -1


def _smaller_than(value: Any, budget: int) -> bool:
    """A quick bound: True when `value` is surely smaller than `budget` characters as JSON
    (each scalar counted generously), without serialising it."""
    quick = _quick_size(value, 2)
    if quick >= 0:
        return quick < budget
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            budget -= len(item) * 6 + 2  # worst case: every character escaped
        elif isinstance(item, dict):
            budget -= 2 * len(item) + 2
            for key, sub in item.items():
                stack.append(key)
                stack.append(sub)
        elif isinstance(item, list):
            budget -= len(item) + 2
            stack.extend(item)
        else:
            budget -= 24
        if budget < 0:
            return False
    return True


class EventValues:
    """Event copies of values for one execution: masked with its secrets, cut at `limit`."""

    __slots__ = ("limit", "masker")

    def __init__(self, masker: Masker, limit: int = EVENT_VALUE_LIMIT) -> None:
        self.masker = masker
        self.limit = limit

    def shown(self, value: Any) -> Any:
        """`value` as events show it: masked, or a note when it is nested too deeply to walk."""
        try:
            return self.masker.value(value)
        except RecursionError:
            return _TOO_DEEP

    def safe(self, value: Any) -> Any:
        """`value` masked and sure to become JSON: events travel in batches shared with other
        executions, so nothing in one may fail when the batch is written."""
        masked = self.shown(value)
        if json_problem(masked) is None:
            return masked
        return json_safe(masked, max_string=self.limit)

    def put(self, name: str, value: Any, data: dict[str, Any], *, is_json: bool = False) -> None:
        """Puts a masked, size-limited, JSON-safe copy of `value` into event data. `is_json`:
        `value` was checked already (masking only swaps strings for strings, so the masked
        copy needs no second check)."""
        masked = self.shown(value)
        if _smaller_than(masked, self.limit // 2):
            if is_json and masked is not _TOO_DEEP:
                data[name] = masked
            else:
                data[name] = masked if json_problem(masked) is None else self.safe(masked)
            return
        try:
            text = _json_text(masked)
        except RecursionError:
            data[name] = _TOO_DEEP
            data[f"{name}_truncated"] = True
            return
        except (TypeError, ValueError):
            masked = json_safe(masked, max_string=self.limit)
            text = _json_text(masked)
        if len(text) > self.limit:
            data[name] = text[: self.limit]
            data[f"{name}_truncated"] = True
        else:
            data[name] = masked

    def error(self, error: NodeError) -> dict[str, Any]:
        """A node error as events carry it."""
        data: dict[str, Any] = self.safe(error.to_dict())
        return data

    def message(self, text: str) -> Any:
        """A log message as events carry it: masked, its length limited."""
        return json_safe(self.masker.text(text), max_string=self.limit)
