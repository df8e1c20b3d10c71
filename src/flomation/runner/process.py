"""The runner's life: isolate, key, register, then claim-run-report until told to stop.

Order at start matters: the code runner's fork server starts FIRST, before this process makes
its key or reads any secret, so user code is forked from a process that never held them. Then
an Ed25519 key is made in memory (never written, never sent), the runner registers, and three
loops run side by side: claiming (capacity first, then a long poll), heartbeats (renewing
leases, relaying cancels) and reporting (batched events and ends).

On SIGTERM/SIGINT: stop claiming, let running executions finish for `shutdown_grace_s`, hand
the rest back to the queue at once, deliver what is still buffered, exit 0.

No flow can stop the runner: what an execution produces is checked when it is produced (by
the engine, then by the reporter per event), and whatever goes wrong inside one execution
fails that execution only. A side task (reporting, heartbeats) that fails anyway, a bug, is
restarted with backoff; after `SIDE_TASK_MAX_FAILURES` failures in a row the runner stops and
exits with `EXIT_FAILED` (3), so that its supervisor (`flomation up`, systemd, Kubernetes)
starts a fresh one, instead of a process that looks online but can no longer work.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import ValidationError

from flomation.backoff import Backoff
from flomation.engine.egress import AddressPolicy, build_http_client
from flomation.engine.isolation import CodeRunner
from flomation.engine.nodes.base import EngineServices
from flomation.protocol import (
    ClaimedExecution,
    ClaimRequest,
    ClaimResponse,
    Completion,
    ExecutionStatus,
    HeartbeatRequest,
    HeartbeatResponse,
    HeldExecution,
    ProbeRequest,
    RegisterResponse,
    ReleaseRequest,
)
from flomation.runner.client import (
    ApiClient,
    ApiError,
    ApiRefused,
    ApiUnavailable,
    RunnerUnknown,
    Unreadable,
)
from flomation.runner.config import RunnerSettings
from flomation.runner.execution import ExecutionJob, JobContext, PlanCache
from flomation.runner.local_secrets import LocalSecrets
from flomation.runner.metrics import RunnerMetrics
from flomation.runner.probes import answer_probe
from flomation.runner.reporter import Reporter
from flomation.runner.slots import Slots
from flomation.runner.subflows import ApiSubflowLauncher, SlotHold
from flomation.signing import SignatureInvalid, SigningKey

log = logging.getLogger("flomation.runner")
Claim = tuple[ClaimResponse, list[Unreadable]]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_FAILED = 3  # a side task kept failing, or claiming failed: restart the process
_FINAL_DELIVERY_S = 15.0
# A side task that fails this many times in a row (each after a backoff) stops the runner.
SIDE_TASK_MAX_FAILURES = 5
# A side task that ran this long before failing counts as having worked: its count restarts.
_SIDE_TASK_HEALTHY_S = 60.0


class RunnerStopped(Exception):
    """The runner was told to stop before it could register."""


class Runner:
    """One runner process. `await run()` returns the exit status."""

    def __init__(
        self, settings: RunnerSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._transport = transport
        self.metrics = RunnerMetrics()
        self.slots = Slots(settings.max_concurrent_executors)
        self.jobs: dict[str, ExecutionJob] = {}
        self._stop = asyncio.Event()
        self._exit_status = EXIT_OK
        self.registration: RegisterResponse | None = None
        self.code_runner: CodeRunner | None = None
        self.client: ApiClient | None = None
        self.reporter: Reporter | None = None
        self._http: httpx.AsyncClient | None = None
        self._policy: AddressPolicy | None = None
        self._inflight_claim: tuple[asyncio.Task[Claim], int] | None = None
        # When leases were last renewed (claim or heartbeat), on the monotonic clock.
        self._renewed_at = 0.0
        # Connection tests in flight (each bounded by its own timeout); cancelled at the end.
        self._probes: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ control

    def request_stop(self) -> None:
        if not self._stop.is_set():
            log.info("stopping: no new work is claimed")
            self._stop.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)

    def _backoff(self) -> Backoff:
        return Backoff(self.settings.backoff_initial_s, self.settings.backoff_max_s)

    # ------------------------------------------------------------------ the whole life

    async def run(self) -> int:
        settings = self.settings
        # 1. Isolation first: the fork server must never have seen a key or a secret.
        # (A shared cloud runner's egress policy holds for user code too: no network.)
        self.code_runner = CodeRunner(settings.isolation_settings())
        await self.code_runner.start()
        log.info("%s", self.code_runner.describe())
        for gap in self.code_runner.gaps():
            log.warning("code isolation: %s", gap)
        try:
            # 2. The key, in memory only; local secrets after the fork server too.
            key = SigningKey.generate()
            local_secrets = LocalSecrets.load(file=settings.secrets_file)
            self.client = ApiClient(settings, key, transport=self._transport)
            self._policy = AddressPolicy.preset(settings.egress_policy, allow=settings.egress_allow)
            self._http = build_http_client(self._policy)
            try:
                await self._register()
            except RunnerStopped:
                return EXIT_OK
            except (ApiRefused, SignatureInvalid, ValidationError) as exc:
                # A ValidationError: what it would register (its labels) breaks the protocol.
                log.error("registration refused: %s", exc)
                return EXIT_REFUSED
            if settings.metrics_port is not None:
                self.metrics.serve(settings.metrics_port, settings.metrics_host)
            await self._serve(local_secrets)
            await self._goodbye()
            return self._exit_status
        finally:
            await self._close()

    async def _close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
        if self._http is not None:
            await self._http.aclose()
        if self.code_runner is not None:
            await self.code_runner.aclose()

    async def _register(self) -> None:
        assert self.client is not None
        backoff = self._backoff()
        while True:
            try:
                self.registration = await self.client.register(
                    labels=self.settings.labels,
                    max_concurrent=self.settings.max_concurrent_executors,
                )
            except ApiUnavailable as exc:
                delay = backoff.next_delay_s()
                log.warning("the API is not reachable (%s); retrying in %.1f s", exc, delay)
                if await self._stopped_within(delay):
                    raise RunnerStopped from exc
                continue
            log.info(
                "registered as runner %s with labels %s",
                self.registration.runner_id,
                self.registration.labels,
            )
            return

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        return self._stop.is_set()

    async def _serve(self, local_secrets: LocalSecrets) -> None:
        assert self.client is not None
        settings = self.settings
        self.reporter = Reporter(
            self.client,
            flush_interval_s=settings.event_flush_interval_ms / 1000,
            batch_max=settings.event_batch_max,
            backoff=self._backoff(),
            on_refused=self._on_report_refused,
            on_unreportable=self._on_unreportable,
        )
        context = JobContext(
            reporter=self.reporter,
            local_secrets=local_secrets,
            metrics=self.metrics,
            plans=PlanCache(),
            make_services=self._services,
            api=self.client,
        )
        self.metrics.slots_total.set(self.slots.total)
        reporter_task = asyncio.create_task(
            self._supervised("reporter", self.reporter.run), name="reporter"
        )
        heartbeat_task = asyncio.create_task(
            self._supervised("heartbeat", self._heartbeats), name="heartbeat"
        )
        try:
            try:
                await self._claim_loop(context)
            except Exception:
                # A bug in claiming: hand back what we hold and exit for a fresh process,
                # rather than a runner that keeps its leases and heartbeats but claims no more.
                log.exception("the claim loop failed; stopping so that a fresh runner can start")
                self._exit_status = EXIT_FAILED
                self.request_stop()
            await self._drain()
        finally:
            heartbeat_task.cancel()
            self.reporter.stop()
            reporter_task.cancel()
            for probe in self._probes:
                probe.cancel()
            await asyncio.gather(
                heartbeat_task, reporter_task, *self._probes, return_exceptions=True
            )

    async def _supervised(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Runs a side task, restarting it with backoff when it fails; one that keeps failing
        stops the runner with `EXIT_FAILED`, never leaving it online without the task."""
        backoff = self._backoff()
        failures = 0
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                await work()
                return
            except asyncio.CancelledError:
                raise
            except RunnerUnknown as exc:
                log.error("the API no longer knows this runner (deleted?): %s", exc)
                self._exit_status = EXIT_REFUSED
                self.request_stop()
                return
            except Exception:
                if time.monotonic() - began > _SIDE_TASK_HEALTHY_S:
                    failures = 0
                    backoff.reset()
                failures += 1
                self.metrics.side_task_failures.labels(name).inc()
                if failures >= SIDE_TASK_MAX_FAILURES:
                    log.exception(
                        "the runner's %s task failed %d times in a row; stopping so that a "
                        "fresh runner process can take over",
                        name,
                        failures,
                    )
                    self._exit_status = EXIT_FAILED
                    self.request_stop()
                    return
                delay = backoff.next_delay_s()
                log.exception("the runner's %s task failed; restarting it in %.2f s", name, delay)
                await self._stopped_within(delay)

    def _services(self, claimed: ClaimedExecution, hold: SlotHold) -> EngineServices:
        assert self.client is not None
        assert self._policy is not None
        return EngineServices(
            http_client=self._http,
            egress=self._policy,
            code_runner=self.code_runner,
            subflow_launcher=ApiSubflowLauncher(
                self.client,
                hold,
                attempt=claimed.attempt,
                poll_s=min(self.settings.subflow_poll_s, 30.0),
                backoff=self._backoff,
            ),
        )

    # ------------------------------------------------------------------ claiming

    def held(self) -> list[HeldExecution]:
        return [
            HeldExecution(execution_id=job.claimed.id, attempt=job.claimed.attempt)
            for job in self.jobs.values()
        ]

    async def _claim_loop(self, context: JobContext) -> None:
        assert self.client is not None
        backoff = self._backoff()
        wait_s = self.settings.claim_wait_s
        if wait_s is None:
            assert self.registration is not None
            wait_s = self.registration.claim_wait_seconds
        while not self._stop.is_set():
            # Capacity first: wait for a free slot (or the stop), then claim at most that many.
            if not await self._first_of(self.slots.wait_free()):
                break
            reserved = self.slots.reserve_all()
            self._update_gauges()
            # A claim renews what we hold (and brings its cancels) when the last renewal is
            # older than half a heartbeat; under load, claims come far more often than that.
            renew = time.monotonic() - self._renewed_at > self._heartbeat_interval_s() / 2
            body = ClaimRequest(
                free_slots=reserved, wait_s=wait_s, held=self.held() if renew else [], probes=True
            )
            claim = asyncio.create_task(
                self.client.claim(body, timeout_s=wait_s + self.settings.request_timeout_s),
                name="claim",
            )
            if not await self._first_of(claim, cancel_on_stop=False):
                # Stopped while the claim waits. Its answer may already be on the way with
                # executions leased to us: the drain takes it and hands them back.
                self._inflight_claim = (claim, reserved)
                break
            try:
                answer, unreadable = claim.result()
            except RunnerUnknown as exc:
                self.slots.give_back(reserved)
                log.error("the API no longer knows this runner (deleted?): %s", exc)
                self._exit_status = EXIT_REFUSED
                self.request_stop()
                break
            except (ApiError, SignatureInvalid) as exc:
                self.slots.give_back(reserved)
                self.metrics.api_errors.inc()
                delay = backoff.next_delay_s()
                log.warning("claim failed (%s); retrying in %.2f s", exc, delay)
                await self._stopped_within(delay)
                continue
            backoff.reset()
            if body.held:
                self._renewed_at = time.monotonic()
            self.slots.give_back(reserved - len(answer.executions) - len(unreadable))
            for claimed in answer.executions:
                self._start(claimed, context)
            for probe in answer.probes:
                self._start_probe(probe)
            for item in unreadable:
                self._fail_unreadable(item)
            self._apply(answer.cancel, answer.lost)
            self._update_gauges()

    def _start_probe(self, request: ProbeRequest) -> None:
        """A connection test from the claim, run beside the executions (it takes no slot: it
        is one bounded connection attempt)."""
        assert self.client is not None
        assert self._policy is not None
        services = EngineServices(http_client=self._http, egress=self._policy)
        task = asyncio.create_task(
            answer_probe(self.client, request, services), name=f"probe-{request.id}"
        )
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def _first_of(self, work: Awaitable[Any], *, cancel_on_stop: bool = True) -> bool:
        """True when `work` finished first, False when the stop came first (then `work` is
        cancelled, unless told otherwise). Never reads `work`'s result: the caller does."""
        task = asyncio.ensure_future(work)
        stop = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if task.done():
            return True
        if cancel_on_stop:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        return False

    def _fail_unreadable(self, item: Unreadable) -> None:
        """A claimed execution the runner cannot read: failed (when it names itself); the
        others of the claim still start."""
        log.error("a claimed execution %s cannot be read: %s", item.key, item.why)
        if item.key is not None and self.reporter is not None:
            error = {
                "node_id": None,
                "type": "internal",
                "message": "the runner could not read this execution: ValidationError",
                "attempt": item.key[1],
            }
            end = Completion(status=ExecutionStatus.FAILED, error=error)
            self.reporter.complete(*item.key, end)

    def _start(self, claimed: ClaimedExecution, context: JobContext) -> None:
        self.metrics.claimed.inc()
        job = ExecutionJob(claimed, SlotHold(self.slots), context)
        self.jobs[claimed.id] = job
        job.task = asyncio.create_task(job.run(), name=f"execution-{claimed.id}")
        job.task.add_done_callback(functools.partial(self._finished, job))

    def _finished(self, job: ExecutionJob, _task: asyncio.Task[None]) -> None:
        if self.jobs.get(job.claimed.id) is job:
            del self.jobs[job.claimed.id]
        if job.task is not None and not job.task.cancelled():
            error = job.task.exception()
            if error is not None:
                log.error("execution %s task failed: %r", job.claimed.id, error)
        self._update_gauges()

    def _apply(self, cancel: list[str], lost: list[str]) -> None:
        for execution_id in cancel:
            job = self.jobs.get(execution_id)
            if job is not None:
                log.info("cancelling execution %s as the API asks", execution_id)
                job.request_cancel()
        for execution_id in lost:
            job = self.jobs.get(execution_id)
            if job is not None:
                log.warning("execution %s is no longer ours; abandoning it", execution_id)
                job.abandon("lost")

    def _on_unreportable(
        self, execution_id: str, attempt: int, node_id: str | None, message: str
    ) -> None:
        job = self.jobs.get(execution_id)
        if job is not None and job.claimed.attempt == attempt:
            job.fail_unreportable(node_id, message)

    def _on_report_refused(self, execution_id: str, attempt: int, result: str) -> None:
        job = self.jobs.get(execution_id)
        if job is not None and job.claimed.attempt == attempt and not job.completing:
            job.abandon("lost")

    def _update_gauges(self) -> None:
        self.metrics.slots_free.set(self.slots.free)
        self.metrics.running.set(len(self.jobs))

    # ------------------------------------------------------------------ heartbeats

    async def _heartbeats(self) -> None:
        assert self.client is not None
        interval_s = self._heartbeat_interval_s()
        while True:
            await asyncio.sleep(interval_s)
            body = HeartbeatRequest(held=self.held(), running=len(self.jobs))
            try:
                answer = await self.client.ask("POST", "/heartbeat", HeartbeatResponse, body)
            except RunnerUnknown:
                raise
            except (ApiError, SignatureInvalid) as exc:
                # Keep running what we have; the next beat tries again.
                self.metrics.api_errors.inc()
                log.warning("heartbeat failed: %s", exc)
                continue
            self._renewed_at = time.monotonic()
            self._apply(answer.cancel, answer.lost)

    def _heartbeat_interval_s(self) -> float:
        assert self.registration is not None
        return self.registration.heartbeat_interval_s

    # ------------------------------------------------------------------ shutdown

    async def _drain(self) -> None:
        assert self.client is not None
        assert self.reporter is not None
        grace_s = self.settings.shutdown_grace_s
        loop = asyncio.get_running_loop()
        grace_ends = loop.time() + grace_s
        running = [job.task for job in self.jobs.values() if job.task is not None]
        if running:
            log.info("waiting up to %.1f s for %d execution(s) to finish", grace_s, len(running))
            await asyncio.wait(running, timeout=grace_s)
        to_release = await self._late_claim(max(0.0, grace_ends - loop.time()))
        handed_back = [job for job in list(self.jobs.values()) if not job.completing]
        for job in handed_back:
            job.abandon("shutdown")
        leftovers = [job.task for job in self.jobs.values() if job.task is not None]
        if leftovers:
            await asyncio.wait(leftovers, timeout=_FINAL_DELIVERY_S)
        try:
            await self.reporter.drain(_FINAL_DELIVERY_S)
        except RunnerUnknown:
            pass  # deleted meanwhile: nothing to deliver to
        except Exception:
            log.exception("could not deliver what is still queued before exiting")
        to_release.extend(job.key for job in handed_back)
        if to_release:
            await self._release(to_release)

    async def _goodbye(self) -> None:
        """Last call: the API lists this runner offline at once instead of after its heartbeat
        TTL. Best effort: without it the runner goes offline when its heartbeats stop."""
        assert self.client is not None
        try:
            async with asyncio.timeout(_FINAL_DELIVERY_S):
                await self.client.goodbye()
        except (TimeoutError, ApiError, SignatureInvalid) as exc:
            log.warning("goodbye not delivered (%s): offline after the heartbeat TTL", exc)

    async def _late_claim(self, timeout_s: float) -> list[tuple[str, int]]:
        """The claim that was waiting when the stop came: what it brought goes straight back."""
        if self._inflight_claim is None:
            return []
        claim, reserved = self._inflight_claim
        self._inflight_claim = None
        self.slots.give_back(reserved)
        done, _ = await asyncio.wait({claim}, timeout=max(timeout_s, 0.5))
        if not done:
            claim.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await claim
            return []
        if claim.exception() is not None:
            return []
        answer, unreadable = claim.result()
        keys = [(item.id, item.attempt) for item in answer.executions]
        return keys + [item.key for item in unreadable if item.key is not None]

    async def _release(self, keys: list[tuple[str, int]]) -> None:
        assert self.client is not None
        body = ReleaseRequest(
            executions=[HeldExecution(execution_id=i, attempt=a) for i, a in keys]
        )
        backoff = self._backoff()
        try:
            async with asyncio.timeout(_FINAL_DELIVERY_S):
                while True:
                    try:
                        await self.client.call("POST", "/release", body.model_dump())
                        log.info("handed %d execution(s) back to the queue", len(keys))
                        return
                    except ApiUnavailable as exc:
                        delay = backoff.next_delay_s()
                        log.warning("release failed (%s); retrying in %.2f s", exc, delay)
                        await asyncio.sleep(delay)
        except (TimeoutError, ApiRefused, SignatureInvalid) as exc:
            log.error("could not hand executions back (%s): they return after their lease", exc)
