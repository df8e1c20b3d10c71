"""The one in-process cache: a least-recently-used map bounded in entries and, when asked, in
bytes, with entries that may expire after a time and may need closing when dropped.

Every per-process copy of something read or built elsewhere (flow definitions, runner keys,
clients) is kept in one of these, so each is bounded the same way and none grows without limit
because its own eviction code was forgotten.

Definitions can be as large as a request body (megabytes), and in a managed deployment any
organisation can make many flows: a bound on entries alone would let a few tenants fill the
API's memory. So entries can also be bounded by their size, and one too large to be worth
holding is not kept at all (whoever needs it reads it again).

Not thread-safe: each cache is used from one event loop, or under its owner's lock.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


def json_bytes(value: Any) -> int:
    """The size of `value` as compact JSON: what a definition weighs, near enough."""
    return len(json.dumps(value, separators=(",", ":"), default=str))


@dataclass(slots=True)
class _Entry(Generic[Value]):
    value: Value
    size_bytes: int
    expires_at: float | None  # on the cache's clock; None: until evicted


class SizedLRU(Generic[Key, Value]):
    """Least recently used first out, once over `max_entries` or `max_bytes` (when given).

    `on_evict(key, value)` is called for an entry dropped to make room (not for one replaced
    by `put`, forgotten, or expired), so a cache of clients can close what it lets go.
    """

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int | None = None,
        max_entry_bytes: int | None = None,
        on_evict: Callable[[Key, Value], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._on_evict = on_evict
        self._clock = clock
        self._entries: OrderedDict[Key, _Entry[Value]] = OrderedDict()
        self._bytes = 0

    def get(self, key: Key) -> Value | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found.expires_at is not None and found.expires_at <= self._clock():
            self.forget(key)
            return None
        self._entries.move_to_end(key)
        return found.value

    def put(
        self, key: Key, value: Value, size_bytes: int = 0, *, ttl_s: float | None = None
    ) -> None:
        """Keep `value` (weighing `size_bytes`) for `key`, for `ttl_s` seconds when given."""
        self.forget(key)
        if self.max_entry_bytes is not None and size_bytes > self.max_entry_bytes:
            return
        expires_at = None if ttl_s is None else self._clock() + ttl_s
        self._entries[key] = _Entry(value, size_bytes, expires_at)
        self._bytes += size_bytes
        while len(self._entries) > self.max_entries or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        ):
            dropped_key, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size_bytes
            if self._on_evict is not None:
                self._on_evict(dropped_key, dropped.value)

    def forget(self, key: Key) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= found.size_bytes

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes
