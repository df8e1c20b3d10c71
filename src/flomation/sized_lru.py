"""A least-recently-used map bounded in entries and in bytes, for the per-process copies of
flow definitions (the current revisions requests run, the revisions claims hand out).

Definitions can be as large as a request body (megabytes), and in a managed deployment any
organisation can make many flows: a bound on entries alone would let a few tenants fill the
API's memory. So entries are also bounded by their size, and one too large to be worth
holding is not kept at all (whoever needs it reads it again).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


def json_bytes(value: Any) -> int:
    """The size of `value` as compact JSON: what a definition weighs, near enough."""
    return len(json.dumps(value, separators=(",", ":"), default=str))


class SizedLRU(Generic[Key, Value]):
    """Least recently used first out, once over `max_entries` or `max_bytes`."""

    def __init__(self, *, max_entries: int, max_bytes: int, max_entry_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Key, tuple[Value, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: Key) -> Value | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: Key, value: Value, size_bytes: int) -> None:
        self.forget(key)
        if size_bytes > self.max_entry_bytes:
            return
        self._entries[key] = (value, size_bytes)
        self._bytes += size_bytes
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped

    def forget(self, key: Key) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= found[1]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes
