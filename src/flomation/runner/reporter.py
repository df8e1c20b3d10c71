"""Batched reporting of events and ends, flushed as a group commit: one request at a time,
carrying what every execution produced since the previous one, instead of one per event.

An end is what someone waits for (a sync webhook's caller, a subflow's parent, a free slot),
so it is sent at once when no flush is in flight; whatever arrives while a flush is in flight
(ends and events of every execution) is grouped into the next flush, sent as soon as that one
is answered. Events alone linger up to the flush interval, so that a chatty execution's
events travel together, unless they fill a batch.

Order is kept per execution (a failed batch goes back in front of what came after it), an end
travels after its execution's events, and nothing is dropped while the API is unreachable:
the batch is retried with backoff until it is accepted or the runner gives up at exit.

A batch carries many executions, so nothing one execution produced may make it fail for the
others. Each event and end is encoded to JSON when it is added, per execution: what cannot
become JSON is replaced by a note and that execution is failed (`on_unreportable`), and a
batch is built from those bytes, never encoded whole. When the API refuses a batch (413 over
its body limit, 422 malformed), the batch is split until the refusal is down to one
execution's item, and only that execution loses it: an end too large or refused is replaced
by a small failed end, so that the execution still ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flomation.backoff import Backoff
from flomation.engine.events import json_problem, json_safe, to_json_bytes
from flomation.engine.executor import EVENT_VALUE_LIMIT
from flomation.protocol import Completion, ExecutionStatus, ReportResponse, Verdict
from flomation.runner.client import ApiClient, ApiError, ApiRefused, RunnerUnknown
from flomation.signing import SignatureInvalid

log = logging.getLogger("flomation.runner.reporter")

Key = tuple[str, int]  # (execution id, attempt)
# Called with (execution id, attempt, node id or None, why) when an execution produced
# something that cannot be reported as it is: the execution must fail.
Unreportable = Callable[[str, int, str | None, str], None]

# An event larger than this once encoded is sent with its long strings cut: the engine limits
# outputs and inputs in events already, so only odd fields (huge messages) ever reach it.
EVENT_MAX_BYTES = 4 * EVENT_VALUE_LIMIT


# Refusals about what a batch holds: over the body limit, not JSON, or of the wrong shape.
_CONTENT_REFUSALS = frozenset({400, 413, 422})


@dataclass
class _Pending:
    events: list[bytes] = field(default_factory=list)  # each event already encoded as JSON
    complete: bytes | None = None
    done: asyncio.Future[Verdict] | None = None
    # The end was replaced by a small failed one already: if the API refuses that too, it is
    # dropped rather than replaced again.
    replaced: bool = False


def _failed_end(attempt: int, node_id: str | None, message: str) -> bytes:
    error = {"node_id": node_id, "type": "internal", "message": message, "attempt": attempt}
    return _end_bytes(Completion(status=ExecutionStatus.FAILED, error=json_safe(error)))


def _end_bytes(end: Completion) -> bytes:
    return to_json_bytes(_end_fields(end))


def _end_fields(end: Completion) -> dict[str, Any]:
    # Not `model_dump`: that copies the output, which may be large, only to encode it.
    return {"status": end.status.value, "output": end.output, "error": end.error}


def _encode(value: dict[str, Any]) -> tuple[bytes, str | None]:
    """`value` as strict JSON, and None; or a JSON-safe stand-in and what was wrong with it."""
    with contextlib.suppress(Exception):  # TypeError, ValueError, RecursionError, or other
        return to_json_bytes(value), None
    try:
        problem = json_problem(value) or "not a JSON value"
    except Exception as exc:
        problem = f"not a JSON value ({type(exc).__name__})"
    try:
        return to_json_bytes(json_safe(value, max_string=EVENT_VALUE_LIMIT)), problem
    except Exception:  # json_safe guarantees JSON; this is the last line of defence
        return to_json_bytes({"note": "(a value that cannot be shown)"}), problem


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
        on_unreportable: Unreportable | None = None,
    ) -> None:
        self._client = client
        self._interval_s = flush_interval_s
        self._batch_max = batch_max
        # Lowered while the API answers 413 (a batch over its body limit), restored on success.
        self._batch_limit = batch_max
        self._backoff = backoff
        self._on_refused = on_refused
        self._on_unreportable = on_unreportable
        self._pending: dict[Key, _Pending] = {}
        self._count = 0
        self._wake = asyncio.Event()
        # Set when the next flush should go without lingering: an end is queued, or a batch's
        # worth of events.
        self._urgent = asyncio.Event()
        self._stopped = False
        self.requests_sent = 0

    @property
    def pending_events(self) -> int:
        return self._count

    def add_event(self, execution_id: str, attempt: int, event: dict[str, Any]) -> None:
        """Queue one event, encoded now: an event that cannot become JSON is queued as a
        JSON-safe stand-in and its execution is failed; it never reaches a batch as it is."""
        encoded, problem = _encode(event)
        if problem is not None:
            node_id = event.get("node_id") if isinstance(event.get("node_id"), str) else None
            where = f" by node {node_id!r}" if node_id else ""
            self._unreportable(
                execution_id,
                attempt,
                node_id,
                f"an event{where} ({event.get('kind')}) cannot be reported as JSON: {problem}",
            )
        if len(encoded) > EVENT_MAX_BYTES:
            encoded = to_json_bytes(json_safe(json.loads(encoded), max_string=EVENT_VALUE_LIMIT))
        entry = self._pending.setdefault((execution_id, attempt), _Pending())
        entry.events.append(encoded)
        self._count += 1
        self._wake.set()
        if self._count >= self._batch_max:
            self._urgent.set()

    def complete(
        self, execution_id: str, attempt: int, completion: Completion
    ) -> asyncio.Future[Verdict]:
        """Queue the end of an execution; the future resolves with the API's verdict
        (`ok`, `stale`, `not_found`, `rejected`) once a batch carrying it was answered.

        An end that cannot become JSON is replaced by a failed end saying why."""
        encoded, problem = _encode(_end_fields(completion))
        if problem is not None:
            log.error("the end of execution %s cannot be reported: %s", execution_id, problem)
            encoded = _failed_end(
                attempt, None, f"the execution's end cannot be reported as JSON: {problem}"
            )
        entry = self._pending.setdefault((execution_id, attempt), _Pending())
        entry.complete = encoded
        entry.done = asyncio.get_running_loop().create_future()
        self._wake.set()
        self._urgent.set()
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
            # Events alone linger a little so that one request carries many; an end (or a
            # full batch) goes at once. Flushes never overlap: what comes during one waits for
            # it to be answered, then travels in the next.
            if not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), timeout=self._interval_s)
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

    def _unreportable(
        self, execution_id: str, attempt: int, node_id: str | None, message: str
    ) -> None:
        log.error("execution %s attempt %s: %s", execution_id, attempt, message)
        if self._on_unreportable is not None:
            try:
                self._on_unreportable(execution_id, attempt, node_id, message)
            except Exception:  # the callback's failure must not cost the other executions
                log.exception("failing execution %s after an unreportable event", execution_id)

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

    def _take_batch(self) -> tuple[list[bytes], dict[Key, _Pending]]:
        """Up to `batch_max` events and ends, oldest executions first; an end goes only with
        the last of its execution's events. Items come encoded, ready to join."""
        items: list[bytes] = []
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
                part.replaced = entry.replaced
                if part.complete is not None:
                    budget -= 1  # an end counts as one, so that a batch splits down to one end
                del self._pending[key]
            else:
                entry.events = rest
            self._count -= len(events)
            if not part.events and part.complete is None:
                continue
            taken[key] = part
            items.append(_item(key, part))
        self._urgent.clear()
        if self._count >= self._batch_max or any(
            entry.complete is not None for entry in self._pending.values()
        ):
            self._urgent.set()  # what the batch could not take goes next, at once
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
                    part.replaced = later.replaced
            merged[key] = part
        merged.update(self._pending)
        self._pending = merged
        self._count = sum(len(entry.events) for entry in merged.values())
        if any(entry.complete is not None for entry in merged.values()):
            self._urgent.set()

    async def flush(self) -> None:
        items, taken = self._take_batch()
        if not items:
            return
        body = b'{"items":[' + b",".join(items) + b"]}"
        try:
            answer = await self._client.ask("POST", "/events", ReportResponse, content=body)
        except ApiRefused as exc:
            if isinstance(exc, RunnerUnknown):
                self._put_back(taken)
                raise
            self._refused(taken, exc)
            return
        except BaseException:
            self._put_back(taken)
            raise
        self.requests_sent += 1
        self._batch_limit = self._batch_max
        results = {(r.execution_id, r.attempt): r for r in answer.results}
        for key, part in taken.items():
            answered = results.get(key)
            result: Verdict = "ok" if answered is None else answered.result
            self._settle(key, part, result)
            if result != "ok":
                detail = None if answered is None else answered.detail
                log.warning("report for %s attempt %s refused: %s %s", *key, result, detail or "")
                if self._on_refused is not None:
                    self._on_refused(key[0], key[1], result)
                self.forget(*key)

    def _refused(self, taken: dict[Key, _Pending], exc: ApiRefused) -> None:
        """A refused batch (413 over the body limit, 422 malformed) is split until the refusal
        is down to one execution's item; only that execution loses what it sent."""
        if exc.status not in _CONTENT_REFUSALS:
            # Not about what the batch holds (a 401 or 403 that is not `runner_unknown`):
            # splitting cannot help, and failing executions one by one would be wrong.
            log.error("the API refused a report batch (%s); dropping it", exc)
            for key, part in taken.items():
                self._settle(key, part, "rejected")
            return
        events = sum(len(part.events) for part in taken.values())
        if len(taken) > 1 or events > 1:
            self._put_back(taken)
            ends = sum(1 for part in taken.values() if part.complete is not None)
            self._batch_limit = max(1, (events + ends) // 2)
            log.warning(
                "the API refused a report batch (%s); retrying in batches of %d",
                exc,
                self._batch_limit,
            )
            return
        [(key, part)] = taken.items()
        why = "too large for the API" if exc.status == 413 else "refused by the API"
        if part.events:
            self._unreportable(
                key[0],
                key[1],
                None,
                f"an event of this execution was {why} ({exc}); it was dropped",
            )
        if part.complete is not None and not part.replaced:
            # The end must still arrive, or the execution waits for a lease to expire and
            # is run again: a small failed end instead, saying why.
            log.error("the end of execution %s was %s (%s)", key[0], why, exc)
            part.events = []
            part.complete = _failed_end(
                key[1], None, f"the execution's end was {why} when reported: {exc}"
            )
            part.replaced = True
            self._put_back({key: part})
            return
        log.error("the API refused a report of execution %s (%s); dropping it", key[0], exc)
        self._settle(key, part, "rejected")

    @staticmethod
    def _settle(key: Key, part: _Pending, result: Verdict) -> None:
        if part.done is not None and not part.done.done():
            part.done.set_result(result)


def _item(key: Key, part: _Pending) -> bytes:
    """One batch item as JSON (a `flomation.protocol.ReportItem`, which the API checks), from
    the pieces encoded when they were added (keys sorted, as `canonical_json` would write
    them)."""
    pieces = [b'{"attempt":', str(int(key[1])).encode()]
    if part.complete is not None:
        pieces += [b',"complete":', part.complete]
    pieces += [b',"events":[', b",".join(part.events), b'],"execution_id":']
    pieces += [to_json_bytes(key[0]), b"}"]
    return b"".join(pieces)
