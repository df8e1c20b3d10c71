"""Event triggers' consumers: one long-lived task per event trigger this instance holds.

`Consumers.reconcile` runs after every lease pass: it starts a consumer for each held event
trigger that has none, and stops (cancels, which closes the subscription) those whose lease
is gone or whose trigger was edited or disabled. A lease pass that fails stops them all, and
each consumer checks before every message that the last good lease pass is recent (`fresh`),
so it stops before its lease could expire; the fenced write of every message (lease owner,
unexpired on the database clock, state version) is the last guard: two instances never both
start an execution from one trigger.

Each message: wait while the flow is at its `max_concurrent_executions` (back-pressure: the
broker holds the rest, at most `prefetch` of them on AMQP), then start its execution with
its dedupe key in a committed transaction (`firing.apply_event`), and only then acknowledge
it; a message that cannot start an execution is rejected to the broker's dead letter and
counted. A crash between commit and ack repeats the message, and its dedupe key answers the
execution already started, so it starts no second one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from flomation.launch.sources.base import SourceContext
from flomation.triggers import firing, leases
from flomation.triggers import service as triggers
from flomation.triggers.schemas import EventResult, Fire, TriggerWork

log = logging.getLogger("flomation.launch")

# How long a consumer waits for a message before checking its fence again.
RECEIVE_WAIT_S = 0.5
# How often a consumer whose flow is full looks for room.
ROOM_POLL_S = 0.2
# A failed consumer restarts after base x 2^failures, at most this long.
MAX_RETRY_S = 60.0


@dataclass(frozen=True)
class Message:
    """One message from a broker: the execution it asks for (`fire`), or why it cannot start
    one (`rejected`: not decodable, too large)."""

    fire: Fire | None
    rejected: str | None = None
    token: object = None  # the broker's handle, for ack and reject


class Subscription(Protocol):
    async def receive(self, timeout_s: float) -> Message | None:
        """The next message, or None when none came within `timeout_s`."""
        ...

    async def ack(self, message: Message) -> None: ...

    async def dead_letter(self, message: Message, reason: str) -> None:
        """Hand a message that starts no execution to the broker's dead letter."""
        ...

    async def close(self) -> None:
        """Unsubscribe; what was not acknowledged goes back to the broker."""
        ...


class EventSource(Protocol):
    async def subscribe(
        self, work: TriggerWork, values: dict[str, object], context: SourceContext
    ) -> Subscription:
        """Connect and subscribe; ConsumerError (or EgressRefused) saying why not."""
        ...


class ConsumerError(Exception):
    """A consumer could not connect or lost its broker; the message is the trigger's
    last_error."""


@dataclass
class _Running:
    task: asyncio.Task[None]
    updated_at: datetime | None


class Consumers:
    def __init__(
        self,
        context: SourceContext,
        sources: dict[str, EventSource],
        *,
        fresh: Callable[[], bool],
        retry_s: float = 1.0,
    ) -> None:
        self.context = context
        self.sources = sources
        self.fresh = fresh
        self.retry_s = retry_s
        self.running: dict[str, _Running] = {}
        # Each consumer's trigger as last written (its state version advances per message).
        self.current: dict[str, TriggerWork] = {}
        # How often a consumer found its flow full (for tests and the logs).
        self.full_waits = 0
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}

    async def reconcile(self) -> None:
        async with self.context.database.transaction() as session:
            held = await leases.held_event_work(session, owner=self.context.owner)
        wanted = {work.id: work for work in held if work.type in self.sources}
        for trigger_id, running in list(self.running.items()):
            work = wanted.get(trigger_id)
            if work is None or work.updated_at != running.updated_at:
                await self.stop(trigger_id)
        now = asyncio.get_running_loop().time()
        for trigger_id, work in wanted.items():
            if trigger_id in self.running or self._retry_at.get(trigger_id, 0.0) > now:
                continue
            task = asyncio.create_task(self._consume(work), name=f"consumer-{trigger_id}")
            self.running[trigger_id] = _Running(task, work.updated_at)
            task.add_done_callback(functools.partial(self._ended, trigger_id))

    def _ended(self, trigger_id: str, task: asyncio.Task[None]) -> None:
        running = self.running.get(trigger_id)
        if running is not None and running.task is task:
            del self.running[trigger_id]
        if task.cancelled():
            return
        # Ended by itself (an error, the fence, the flow gone): try again after a backoff.
        failures = self._failures.get(trigger_id, 0) + 1
        self._failures[trigger_id] = failures
        delay = min(MAX_RETRY_S, self.retry_s * 2 ** (failures - 1))
        self._retry_at[trigger_id] = asyncio.get_running_loop().time() + delay

    async def stop(self, trigger_id: str) -> None:
        running = self.running.pop(trigger_id, None)
        if running is not None:
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)

    async def stop_all(self) -> None:
        for trigger_id in list(self.running):
            await self.stop(trigger_id)

    # --- one consumer -----------------------------------------------------------------------

    async def _consume(self, work: TriggerWork) -> None:
        try:
            await self._run(work)
        except firing.Fenced:
            log.info("trigger %s: lease lost or trigger edited; consumer stops", work.id)
        except Exception:
            # A bug, a database hiccup or a broker library's unexpected error: nothing was
            # acknowledged past its commit; the consumer restarts after a backoff.
            log.exception("trigger %s: consumer failed", work.id)

    async def _run(self, work: TriggerWork) -> None:
        try:
            subscription = await self._subscribe(self.sources[work.type], work)
        except Exception as exc:  # the reason is shown to the user; the consumer retries
            await self._health(work, healthy=False, error=str(exc) or type(exc).__name__)
            return
        try:
            self.current[work.id] = await self._health(work, healthy=True, error=None)
            self._failures.pop(work.id, None)
            await self._loop(work.id, subscription)
        except (ConsumerError, OSError) as exc:
            latest = self.current.get(work.id, work)
            await self._health(latest, healthy=False, error=str(exc) or type(exc).__name__)
        finally:
            self.current.pop(work.id, None)
            await asyncio.shield(_close(subscription))

    async def _subscribe(self, source: EventSource, work: TriggerWork) -> Subscription:
        name = str(getattr(work.config, "connection", ""))
        async with self.context.database.transaction() as session:
            found = await triggers.connection_for_launch(
                session, work.organization_id, name, keyring=self.context.keyring
            )
        if found is None:
            raise ConsumerError(f"The connection {name!r} does not exist any more")
        return await source.subscribe(work, found.values, self.context)

    async def _loop(self, trigger_id: str, subscription: Subscription) -> None:
        while True:
            work = self.current[trigger_id]
            if not self.fresh():
                log.warning("trigger %s: leases not renewed lately; consumer stops", work.id)
                return
            if not await self._has_room(work):
                self.full_waits += 1
                await asyncio.sleep(ROOM_POLL_S)
                continue
            message = await subscription.receive(RECEIVE_WAIT_S)
            if message is None:
                await self._check_silence(trigger_id)
                continue
            result = await self._commit(work, message)
            self.current[trigger_id] = replace(
                work, state_version=result.state_version, cursor=result.cursor
            )
            if result.stopped:
                # The flow is gone: leave the message with the broker; the error is shown.
                return
            await self.acknowledge(subscription, message, result)

    async def _has_room(self, work: TriggerWork) -> bool:
        async with self.context.database.transaction() as session:
            return await triggers.flow_has_room(
                session, organization_id=work.organization_id, flow_id=work.flow_id
            )

    async def _commit(self, work: TriggerWork, message: Message) -> EventResult:
        """Raises firing.Fenced when the lease or the trigger moved on (rolled back)."""
        async with self.context.database.transaction() as session:
            return await firing.apply_event(
                session,
                owner=self.context.owner,
                work=work,
                fire=message.fire,
                rejected=message.rejected,
                now=self.context.clock.now(),
                lease_s=self.context.lease_s,
            )

    async def acknowledge(
        self, subscription: Subscription, message: Message, result: EventResult
    ) -> None:
        """After the commit: ack, or dead-letter what started no execution."""
        if result.refused is not None:
            log.warning("trigger message rejected: %s", result.refused)
            await subscription.dead_letter(message, result.refused)
        else:
            await subscription.ack(message)

    async def _health(self, work: TriggerWork, *, healthy: bool, error: str | None) -> TriggerWork:
        if error:
            log.warning("trigger %s: %s", work.id, error)
        try:
            async with self.context.database.transaction() as session:
                cursor = await firing.record_health(
                    session,
                    owner=self.context.owner,
                    work=work,
                    healthy=healthy,
                    error=error,
                    now=self.context.clock.now(),
                    lease_s=self.context.lease_s,
                )
        except Exception:
            log.exception("trigger %s: could not record its health", work.id)
            return work
        if cursor is None:
            raise firing.Fenced(work.id)
        work = replace(work, state_version=work.state_version + 1, cursor=cursor)
        if not healthy:
            since = cursor.get("failing_since")
            reason = f"Failing since {since}: {error}"
            work = await self._alert_after(work, since, f"failing:{since}", reason)
        return work

    # --- the dead-man's switch (alert_after_s) ----------------------------------------------

    async def _check_silence(self, trigger_id: str) -> None:
        """No event for `alert_after_s` (since the last one, or the trigger's creation)."""
        work = self.current[trigger_id]
        since = (work.cursor or {}).get("last_event_at") or (
            work.created_at.isoformat() if work.created_at else None
        )
        limit = getattr(work.config, "alert_after_s", None)
        reason = f"No event for {limit:g} s (the last: {since})" if limit else ""
        self.current[trigger_id] = await self._alert_after(work, since, f"silent:{since}", reason)

    async def _alert_after(
        self, work: TriggerWork, since: object, incident: str, reason: str
    ) -> TriggerWork:
        """Start the error flow once per incident when it has lasted `alert_after_s`."""
        limit = getattr(work.config, "alert_after_s", None)
        if (
            limit is None
            or not isinstance(since, str)
            or (work.cursor or {}).get("alerted") == incident
        ):
            return work
        started = datetime.fromisoformat(since)
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        if (self.context.clock.now() - started).total_seconds() < limit:
            return work
        log.warning("trigger %s is unhealthy: %s", work.id, reason)
        async with self.context.database.transaction() as session:
            cursor = await firing.alert_unhealthy(
                session,
                owner=self.context.owner,
                work=work,
                reason=reason,
                incident=incident,
                lease_s=self.context.lease_s,
            )
        return replace(work, state_version=work.state_version + 1, cursor=cursor)


async def _close(subscription: Subscription) -> None:
    try:
        await subscription.close()
    except Exception:
        log.exception("could not close a subscription")
