"""The Launch service: shares the triggers among running instances by lease, and runs the due
ones through their source.

Each instance has an owner id. Every TTL/3 it renews the leases it holds and takes its fair
share of the free ones (`triggers.leases.balance_leases`, on the database clock). Between
lease passes it looks for held triggers whose time has come (on its `Clock`, injectable for
tests) and hands each to its source in a task of its own, so a slow S3 listing or git fetch
never delays a schedule or a lease renewal. On stop it releases its leases so other instances
take over at once; when it dies instead, its leases expire and others take them.

Queue maintenance (expired execution leases, timeouts, pruning) lives in the API process, not
here: Launch only does triggers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import datetime
from pathlib import Path

from flomation.clock import Clock, SystemClock
from flomation.config import Settings
from flomation.db.session import Database
from flomation.engine.nodes.base import BlockedError
from flomation.launch.consumers import Consumers, EventSource
from flomation.launch.egress import EgressRefused, LaunchEgress
from flomation.launch.sources.amqp import AmqpEventSource
from flomation.launch.sources.base import Source, SourceContext, fail
from flomation.launch.sources.git import GitSource
from flomation.launch.sources.mqtt import MqttEventSource
from flomation.launch.sources.nats import NatsEventSource
from flomation.launch.sources.postgres_notify import PostgresNotifyEventSource
from flomation.launch.sources.redis_stream import RedisStreamEventSource
from flomation.launch.sources.s3 import S3Source
from flomation.launch.sources.schedule import ScheduleSource
from flomation.secrets.crypto import Keyring
from flomation.triggers import leases
from flomation.triggers.schemas import TriggerWork

log = logging.getLogger("flomation.launch")

# Triggers one instance claims per lease pass at most, so instances starting together share.
CLAIM_BATCH = 25
# Longest idle wait between looks for due triggers (a trigger's next time may have been moved
# earlier by an edit in the API).
MAX_IDLE_S = 1.0
# Sources running at once in one instance.
CONCURRENT_SOURCES = 8


def new_owner_id() -> str:
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LaunchService:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Clock | None = None,
        owner: str | None = None,
        sources: Mapping[str, Source] | None = None,
        claim_batch: int = CLAIM_BATCH,
        s3_page_size: int = 1000,
        event_sources: Mapping[str, EventSource] | None = None,
        consumer_retry_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock or SystemClock()
        self.owner = owner or new_owner_id()
        self.ttl_s = settings.trigger_lease_seconds
        # Renew well before expiry (a third of the TTL), and claim often enough that a trigger
        # created through the API starts within seconds, not a third of a 2-minute lease.
        self.lease_interval_s = min(self.ttl_s / 3, settings.trigger_claim_interval_seconds)
        self.claim_batch = claim_batch
        context = SourceContext(
            database=database,
            owner=self.owner,
            clock=self.clock,
            data_dir=Path(settings.data_dir),
            keyring=Keyring.from_settings(settings),
            lease_s=settings.trigger_lease_seconds,
            egress=LaunchEgress.from_settings(settings),
        )
        self.context = context
        self.sources: dict[str, Source] = dict(
            sources
            or {
                "schedule": ScheduleSource(context),
                "s3": S3Source(context, page_size=s3_page_size),
                "git": GitSource(context),
            }
        )
        self.consumers = Consumers(
            context,
            dict(event_sources or default_event_sources()),
            fresh=self._leases_fresh,
            retry_s=consumer_retry_s,
        )
        self.held: list[str] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(CONCURRENT_SOURCES)
        self._last_lease_pass: float | None = None

    # --- one pass, usable from tests --------------------------------------------------------

    async def lease_pass(self) -> list[str]:
        """Heartbeat, renew, claim or hand back; remembers and returns what is held. Then
        the event triggers' consumers follow the leases: started for the held ones, stopped
        for the others. A failed pass stops them all (they could outlive their leases)."""
        try:
            async with self.database.transaction() as session:
                self.held = await leases.balance_leases(
                    session, owner=self.owner, ttl_s=self.ttl_s, claim_batch=self.claim_batch
                )
        except BaseException:
            self._last_lease_pass = None
            await self.consumers.stop_all()
            raise
        self._last_lease_pass = asyncio.get_running_loop().time()
        await self.consumers.reconcile()
        return self.held

    def _leases_fresh(self) -> bool:
        """Whether the last lease pass is recent enough that the leases are surely still
        held: consumers stop before a lease could expire (two thirds of the TTL)."""
        if self._last_lease_pass is None:
            return False
        age = asyncio.get_running_loop().time() - self._last_lease_pass
        return age < self.ttl_s * 2 / 3

    async def fire_pass(self, *, wait: bool = True) -> int:
        """Start a source for every held trigger that is due and not already running.
        With `wait`, return once they all finished (tests); returns how many started."""
        async with self.database.transaction() as session:
            due = await leases.due_work(session, owner=self.owner, now=self.clock.now())
        started = [self._start(work) for work in due if work.id not in self._running]
        tasks = [task for task in started if task is not None]
        if wait and tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)

    async def run_once(self) -> int:
        """A lease pass then a fire pass, waiting for the sources (deterministic for tests)."""
        await self.lease_pass()
        return await self.fire_pass(wait=True)

    def _start(self, work: TriggerWork) -> asyncio.Task[None] | None:
        source = self.sources.get(work.type)
        if source is None:
            return None
        task = asyncio.create_task(self._run_source(source, work), name=f"trigger-{work.id}")
        self._running[work.id] = task
        task.add_done_callback(lambda _: self._running.pop(work.id, None))
        return task

    async def _run_source(self, source: Source, work: TriggerWork) -> None:
        async with self._slots:
            try:
                try:
                    await source.run(work)
                except (EgressRefused, BlockedError) as exc:
                    # A source that let a refusal through: the trigger must not fire, and its
                    # user must see why, as for any failed poll.
                    interval_s = float(getattr(work.config, "interval_s", 60.0))
                    await fail(self.context, work, str(exc), interval_s=interval_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug or a database hiccup: the trigger stays due and is tried next pass.
                log.exception("trigger %s (%s) failed", work.id, work.type)

    # --- the process loop -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then release every lease.

        Leases are kept in a task of their own, so a backlog of fires (or a slow database
        answer to one) never delays a renewal past the TTL."""
        log.info("launch %s started (lease %.0f s)", self.owner, self.ttl_s)
        leases = asyncio.create_task(self._lease_loop(stop), name="launch-leases")
        try:
            while not stop.is_set():
                try:
                    if self._last_lease_pass is not None:
                        await self.fire_pass(wait=False)
                    wait_s = await self._idle_seconds()
                except Exception:
                    log.exception("launch fire pass failed; retrying")
                    wait_s = 1.0
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait_s)
        finally:
            leases.cancel()
            await asyncio.gather(leases, return_exceptions=True)
            await self._shutdown()

    async def _lease_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.lease_pass()
            except Exception:
                log.exception("launch lease pass failed; retrying")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.lease_interval_s)

    async def _idle_seconds(self) -> float:
        """Sleep until the next held trigger is due, or MAX_IDLE_S (an edit in the API may
        have moved a trigger's time earlier)."""
        wait_s = MAX_IDLE_S
        if self.held:
            async with self.database.transaction() as session:
                next_at = await leases.next_due_at(session, owner=self.owner)
            if next_at is not None:
                wait_s = min(wait_s, max(0.0, _seconds_until(next_at, self.clock.now())))
        return max(wait_s, 0.01)

    async def _shutdown(self) -> None:
        await self.consumers.stop_all()
        for task in list(self._running.values()):
            task.cancel()
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        try:
            # Shielded: a second signal must not leave leases held until they expire.
            await asyncio.shield(self.release())
        except Exception:
            log.exception("could not release the leases; they expire in %.0f s", self.ttl_s)
        log.info("launch %s stopped", self.owner)

    async def release(self) -> None:
        await self.consumers.stop_all()
        async with self.database.transaction() as session:
            await leases.leave(session, owner=self.owner)
        self.held = []


def default_event_sources() -> dict[str, EventSource]:
    return {
        "amqp": AmqpEventSource(),
        "redis_stream": RedisStreamEventSource(),
        "postgres_notify": PostgresNotifyEventSource(),
        "nats": NatsEventSource(),
        "mqtt": MqttEventSource(),
    }


def _seconds_until(at: datetime, now: datetime) -> float:
    return (at - now).total_seconds()


def lifespan_hook(
    settings: Settings, database: Database
) -> Callable[[object], AbstractAsyncContextManager[None]]:
    """Launch inside another process's lifespan (`flomation up`): a LifespanHook for
    `create_app(..., lifespan_hooks=[...])`. It stops, releasing its leases, when the app
    stops."""

    @asynccontextmanager
    async def hook(_app: object) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(LaunchService(settings, database).run(stop), name="launch")
        try:
            yield
        finally:
            stop.set()
            await task

    return hook
