"""Batched reporting of events and ends: one request carries what every execution produced in
the last few tens of milliseconds, instead of one request per event.

Order is kept per execution (a failed batch goes back in front of what came after it), an end
travels after its execution's events, and nothing is dropped while the API is unreachable:
the batch is retried with backoff until it is accepted or the runner gives up at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flomation.runner.backoff import Backoff
from flomation.runner.client import ApiClient, ApiError, ApiRefused, RunnerUnknown
from flomation.signing import SignatureInvalid

log = logging.getLogger("flomation.runner.reporter")

Key = tuple[str, int]  # (execution id, attempt)


@dataclass
class _Pending:
    events: list[dict[str, Any]] = field(default_factory=list)
    complete: dict[str, Any] | None = None
    done: asyncio.Future[str] | None = None


class Reporter:
    """Buffers events and ends per execution attempt and flushes them in batches."""

    def __init__(
        self,
        client: ApiClient,
        *,
        flush_interval_s: float,
        batch_max: int,
        backoff: Backoff,
        on_refused: Callable[[str, int, str], None] | None = None,
    ) -> None:
        self._client = client
        self._interval_s = flush_interval_s
        self._batch_max = batch_max
        # Lowered while the API answers 413 (a batch over its body limit), restored on success.
        self._batch_limit = batch_max
        self._backoff = backoff
        self._on_refused = on_refused
        self._pending: dict[Key, _Pending] = {}
        self._count = 0
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._stopped = False
        self.requests_sent = 0

    @property
    def pending_events(self) -> int:
        return self._count

    def add_event(self, execution_id: str, attempt: int, event: dict[str, Any]) -> None:
        entry = self._pending.setdefault((execution_id, attempt), _Pending())
        entry.events.append(event)
        self._count += 1
        self._wake.set()
        if self._count >= self._batch_max:
            self._full.set()

    def complete(
        self, execution_id: str, attempt: int, completion: dict[str, Any]
    ) -> asyncio.Future[str]:
        """Queue the end of an execution; the future resolves with the API's verdict
        (`ok`, `stale`, `not_found`, `rejected`) once a batch carrying it was answered."""
        entry = self._pending.setdefault((execution_id, attempt), _Pending())
        entry.complete = completion
        entry.done = asyncio.get_running_loop().create_future()
        self._wake.set()
        return entry.done

    def forget(self, execution_id: str, attempt: int) -> None:
        """Drop what is queued for an attempt the API no longer lets this runner report."""
        entry = self._pending.pop((execution_id, attempt), None)
        if entry is not None:
            self._count -= len(entry.events)
            if entry.done is not None and not entry.done.done():
                entry.done.set_result("stale")

    async def run(self) -> None:
        """Flush loop; ends with `stop()` (after a final `drain`)."""
        while not self._stopped:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Linger a little so that one request carries many events, unless a batch is full.
            if not self._full.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), timeout=self._interval_s)
            await self._flush_with_retry()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    async def drain(self, timeout_s: float) -> bool:
        """Flush until nothing is pending or `timeout_s` passed; True when all was delivered."""
        try:
            async with asyncio.timeout(timeout_s):
                while self._pending:
                    await self._flush_with_retry()
        except TimeoutError:
            log.error("could not deliver %d queued report(s) before exiting", len(self._pending))
            return False
        return True

    async def _flush_with_retry(self) -> None:
        try:
            await self.flush()
        except RunnerUnknown:
            raise
        except (ApiError, SignatureInvalid) as exc:
            delay = self._backoff.next_delay_s()
            log.warning("reporting failed (%s); retrying in %.2f s", exc, delay)
            await asyncio.sleep(delay)
        else:
            self._backoff.reset()

    def _take_batch(self) -> tuple[list[dict[str, Any]], dict[Key, _Pending]]:
        """Up to `batch_max` events, oldest executions first; an end goes only with the last
        of its execution's events."""
        items: list[dict[str, Any]] = []
        taken: dict[Key, _Pending] = {}
        budget = self._batch_limit
        for key in list(self._pending):
            if budget <= 0 and items:
                break
            entry = self._pending[key]
            events = entry.events[: max(budget, 0)] if budget > 0 else []
            rest = entry.events[len(events) :]
            budget -= len(events)
            part = _Pending(events=events)
            if not rest:
                part.complete, part.done = entry.complete, entry.done
                del self._pending[key]
            else:
                entry.events = rest
            self._count -= len(events)
            if not part.events and part.complete is None:
                continue
            taken[key] = part
            item: dict[str, Any] = {"execution_id": key[0], "attempt": key[1], "events": events}
            if part.complete is not None:
                item["complete"] = part.complete
            items.append(item)
        self._full.clear()
        return items, taken

    def _put_back(self, taken: dict[Key, _Pending]) -> None:
        """A batch that was not delivered goes back in front of what came since."""
        merged: dict[Key, _Pending] = {}
        for key, part in taken.items():
            later = self._pending.pop(key, None)
            if later is not None:
                part.events.extend(later.events)
                if later.complete is not None:
                    part.complete, part.done = later.complete, later.done
            merged[key] = part
        merged.update(self._pending)
        self._pending = merged
        self._count = sum(len(entry.events) for entry in merged.values())

    async def flush(self) -> None:
        items, taken = self._take_batch()
        if not items:
            return
        try:
            answer = await self._client.call("POST", "/events", {"items": items})
        except ApiRefused as exc:
            if isinstance(exc, RunnerUnknown):
                self._put_back(taken)
                raise
            events = sum(len(part.events) for part in taken.values())
            if exc.status == 413 and events > 1:
                # Over the API's body limit: send the same in smaller batches.
                self._put_back(taken)
                self._batch_limit = max(1, events // 2)
                log.warning("report batch too large; retrying with %d events", self._batch_limit)
                return
            # The whole batch was refused as malformed: retrying it can never succeed.
            log.error("the API refused a report batch (%s); dropping it", exc)
            for key, part in taken.items():
                self._settle(key, part, "rejected")
            return
        except BaseException:
            self._put_back(taken)
            raise
        self.requests_sent += 1
        self._batch_limit = self._batch_max
        results = {(r["execution_id"], r["attempt"]): r for r in answer.get("results", [])}
        for key, part in taken.items():
            result = results.get(key, {}).get("result", "ok")
            self._settle(key, part, result)
            if result != "ok":
                detail = results.get(key, {}).get("detail")
                log.warning("report for %s attempt %s refused: %s %s", *key, result, detail or "")
                if self._on_refused is not None:
                    self._on_refused(key[0], key[1], result)
                self.forget(*key)

    @staticmethod
    def _settle(key: Key, part: _Pending, result: str) -> None:
        if part.done is not None and not part.done.done():
            part.done.set_result(result)
