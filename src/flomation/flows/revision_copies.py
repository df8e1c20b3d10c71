"""A process's copies of flows' current revisions, bounded in count and in bytes.

Definitions can be as large as a request body (megabytes), and in a managed deployment any
organisation can make many flows: a bound on entries alone would let a few tenants fill the
API's memory. So copies are also bounded by the size of their definitions' JSON, and a
definition too large to be worth holding is not kept at all (its requests read it, as before).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

Copy = TypeVar("Copy")


class RevisionCopies(Generic[Copy]):
    """Least recently used first out, by `(organization_id, flow_id)`."""

    def __init__(self, *, max_entries: int, max_bytes: int, max_entry_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[tuple[str, str], tuple[Copy, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[str, str]) -> Copy | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: tuple[str, str], copy: Copy, size_bytes: int) -> None:
        self.forget(key)
        if size_bytes > self.max_entry_bytes:
            return
        self._entries[key] = (copy, size_bytes)
        self._bytes += size_bytes
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped

    def forget(self, key: tuple[str, str]) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= found[1]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes
