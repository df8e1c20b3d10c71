"""One claimed execution on a runner: run it with the engine in its own task, with its own
deadline and cancellation, and report its end with a write that cancellation cannot cut."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from flomation.engine.executor import ExecutionResult, Executor, PriorStep
from flomation.engine.nodes.base import (
    Connection,
    ConnectionRefresher,
    EngineServices,
    ExecutionInfo,
)
from flomation.engine.plan import FlowPlan
from flomation.engine.validation import InvalidDefinitionError
from flomation.integrations.openapi import node_registry
from flomation.integrations.registry import make_connection
from flomation.protocol import ClaimedExecution, Completion, ExecutionStatus, describe
from flomation.runner.client import ApiClient, ApiError
from flomation.runner.events import ReportingSink
from flomation.runner.imported_services import ClaimedServices, claimed_services
from flomation.runner.local_secrets import LocalSecrets
from flomation.runner.metrics import RunnerMetrics
from flomation.runner.reporter import Reporter
from flomation.runner.subflows import SlotHold
from flomation.sized_lru import SizedLRU

log = logging.getLogger("flomation.runner.execution")

# Why a running execution is stopped early.
StopReason = Literal["cancel", "timeout", "lost", "shutdown", "unreportable"]
# The runner's own view of the deadline may lag the API's by a little (clocks, latency).
_DEADLINE_SLACK_S = 1.0


def prior_steps(prior: dict[str, Any] | None) -> dict[str, PriorStep]:
    """Outputs reused by a retry from a node: `{node: {"output", "port"?}}` or `{node: output}`."""
    steps: dict[str, PriorStep] = {}
    for node_id, value in (prior or {}).items():
        if isinstance(value, dict) and "output" in value and set(value) <= {"output", "port"}:
            steps[node_id] = PriorStep(value["output"], str(value.get("port") or "success"))
        else:
            steps[node_id] = PriorStep(value)
    return steps


class PlanCache:
    """Prepared plans by (flow, revision, versions of the imported services it uses): a
    revision never changes, so it is prepared once per version of those services."""

    def __init__(self, size: int = 256) -> None:
        self._plans: SizedLRU[tuple[str, int, tuple[str, ...]], FlowPlan] = SizedLRU(
            max_entries=size
        )

    def get(self, claimed: ClaimedExecution, services: ClaimedServices | None = None) -> FlowPlan:
        versions = services.versions if services is not None else ()
        key = (claimed.flow_id, claimed.revision, versions)
        plan = self._plans.get(key)
        if plan is None:
            registry = node_registry(services.services) if services is not None else None
            plan = FlowPlan.from_document(claimed.definition, registry=registry)
            self._plans.put(key, plan)
        return plan


@dataclass
class JobContext:
    """What every execution on this runner shares."""

    reporter: Reporter
    local_secrets: LocalSecrets
    metrics: RunnerMetrics
    plans: PlanCache
    make_services: Any  # Callable[[ClaimedExecution, SlotHold], EngineServices]
    # The runner's API client, for calls an execution makes itself (an OAuth 2 refresh after
    # a 401); None where nothing may call the API (no refresh is then asked for).
    api: ApiClient | None = None


class ExecutionJob:
    """Runs one claimed execution attempt. `task` is set by whoever starts it."""

    def __init__(self, claimed: ClaimedExecution, hold: SlotHold, context: JobContext) -> None:
        self.claimed = claimed
        self.hold = hold
        self.context = context
        self.task: asyncio.Task[None] | None = None
        self.stop_reason: StopReason | None = None
        self.completing = False
        self.result: ExecutionResult | None = None
        # Why this execution produced something that could not be reported, and where: it
        # ends failed with this error, whatever the engine said.
        self.unreportable: dict[str, Any] | None = None
        self._executor: Executor | None = None
        self._sink: ReportingSink | None = None
        self._claimed_at = time.monotonic()
        self._deadline = (
            None
            if claimed.deadline_in_s is None
            else self._claimed_at + max(0.0, float(claimed.deadline_in_s))
        )

    @property
    def key(self) -> tuple[str, int]:
        return (self.claimed.id, self.claimed.attempt)

    def deadline_passed(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline - _DEADLINE_SLACK_S

    # ------------------------------------------------------------------ control

    def request_cancel(self) -> None:
        """The API asked: cancel (or time out, when the deadline has passed) and report it."""
        if self.stop_reason is not None or self.completing:
            return
        self.stop_reason = "timeout" if self.deadline_passed() else "cancel"
        if self._executor is not None:
            self._executor.cancel()
        elif self.task is not None:
            self.task.cancel()

    def fail_unreportable(self, node_id: str | None, message: str) -> None:
        """The reporter could not report what this execution produced: stop it, and end it
        failed with `message` (the first such problem wins)."""
        if self.unreportable is not None or self.completing:
            return
        self.unreportable = {
            "node_id": node_id,
            "type": "internal",
            "message": message,
            "attempt": self.claimed.attempt,
        }
        if self.stop_reason is None:
            self.stop_reason = "unreportable"
            if self._executor is not None:
                self._executor.cancel()
            elif self.task is not None:
                self.task.cancel()

    def abandon(self, reason: Literal["lost", "shutdown"]) -> None:
        """Stop without reporting an end: the API took the execution away (lost) or the
        runner hands it back (shutdown)."""
        if self.completing and reason == "shutdown":
            return  # its end is written already; the reporter delivers it
        self.stop_reason = reason
        if self._sink is not None:
            self._sink.closed = True
        self.context.reporter.forget(*self.key)
        if self.task is not None:
            self.task.cancel()

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        claimed = self.claimed
        metrics = self.context.metrics
        try:
            result = await self._execute()
        except asyncio.CancelledError:
            if self.stop_reason in ("lost", "shutdown"):
                return
            if self.stop_reason is None:
                raise
            # Cancelled by the API before the engine had started: still an end to report.
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            kind = "timeout" if self.stop_reason == "timeout" else "cancelled"
            result = ExecutionResult(
                ExecutionStatus.TIMED_OUT if kind == "timeout" else ExecutionStatus.CANCELLED,
                None,
                self._error(kind, f"the execution was {kind.replace('timeout', 'timed out')}"),
            )
        except Exception as exc:  # a bug in a node type or the engine: fail, do not vanish
            log.exception("execution %s failed inside the runner", claimed.id)
            result = ExecutionResult(
                ExecutionStatus.FAILED, None, self._error("internal", _text(exc))
            )
        finally:
            self.hold.release()
        if self.stop_reason in ("lost", "shutdown"):
            return
        if self.unreportable is not None:
            result = ExecutionResult(ExecutionStatus.FAILED, None, self.unreportable)
        if claimed.recovery_error is not None:
            # A recovery attempt ends failed with the error it recovers from, whatever cut its
            # on_error branch short (a cancel, the deadline, a failure): rule 6 keeps the
            # original error, and a branch's failure is on its step.
            kept = result.output if result.status == ExecutionStatus.FAILED else None
            result = ExecutionResult(ExecutionStatus.FAILED, kept, claimed.recovery_error)
        self.result = result
        metrics.finished.labels(result.status).inc()
        metrics.duration.observe(time.monotonic() - self._claimed_at)
        await self._complete(result)
        if result.status == ExecutionStatus.SUCCEEDED:
            log.debug("execution %s attempt %s ended succeeded", claimed.id, claimed.attempt)
        else:
            # The error is masked already (see _execute): an operator sees why on the runner.
            error = result.error or {}
            log.info(
                "execution %s attempt %s ended %s at node %s: %s",
                claimed.id,
                claimed.attempt,
                result.status,
                error.get("node_id"),
                error.get("message"),
            )

    async def _execute(self) -> ExecutionResult:
        claimed = self.claimed
        try:
            imported = (
                claimed_services(claimed.imported_services) if claimed.imported_services else None
            )
            plan = self.context.plans.get(claimed, imported)
        except (InvalidDefinitionError, ValueError) as exc:
            return ExecutionResult(
                ExecutionStatus.FAILED, None, self._error("definition", str(exc))
            )
        services: EngineServices = self.context.make_services(claimed, self.hold)
        self._sink = ReportingSink(self.context.reporter, claimed.id, claimed.attempt)
        executor = Executor(
            plan,
            services=services,
            sink=self._sink,
            execution=ExecutionInfo(
                execution_id=claimed.id,
                attempt=claimed.attempt,
                flow_id=claimed.flow_id,
                flow_revision=claimed.revision,
                depth=claimed.depth,
            ),
            variables=claimed.variables,
            secrets=self.context.local_secrets.resolve(claimed.secrets),
            connections=self._connections(imported),
            prior=prior_steps(claimed.prior_outputs),
            from_node=claimed.from_node,
            recover_from_error=claimed.recovery_error,
        )
        self._executor = executor
        services.connection_refresher = self._connection_refresher(executor)
        remaining = None if self._deadline is None else max(0.0, self._deadline - time.monotonic())
        limit = asyncio.timeout(remaining)
        try:
            async with limit:
                result = await executor.run(claimed.input)
        except TimeoutError:
            if not limit.expired():
                raise
            return ExecutionResult(
                ExecutionStatus.TIMED_OUT,
                None,
                self._error(
                    "timeout", "the execution ran past its deadline (its flow's timeout_s)"
                ),
            )
        if self.stop_reason == "timeout" and result.status == ExecutionStatus.CANCELLED:
            return ExecutionResult(
                ExecutionStatus.TIMED_OUT,
                None,
                self._error(
                    "timeout", "the execution ran past its deadline (its flow's timeout_s)"
                ),
            )
        masker = executor.masker
        return ExecutionResult(
            result.status, masker.value(result.output), masker.value(result.error)
        )

    def _connections(self, services: ClaimedServices | None) -> dict[str, Connection]:
        """The API's connections and the runner's own; those of an imported service's type
        built by that type (the claim carries it; the runner's registry does not know it)."""
        resolved = self.context.local_secrets.connections(self.claimed.connections)
        return resolved if services is None else services.connections(resolved)

    def _connection_refresher(self, executor: Executor) -> ConnectionRefresher | None:
        """Asks the API for a new OAuth 2 token of a connection it gave (never of one of the
        runner's own), fenced by this attempt. The new token is masked from then on and is
        what later nodes of this execution get."""
        client = self.context.api
        if client is None:
            return None
        claimed = self.claimed
        local = self.context.local_secrets.local_connections.names

        async def refresh(connection: Connection) -> Connection | None:
            if connection.name not in claimed.connections or connection.name in local:
                return None
            token = str(connection.values.get("access_token") or "")
            try:
                answer = await client.refresh_connection(
                    connection.name,
                    execution_id=claimed.id,
                    attempt=claimed.attempt,
                    refused_token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                )
            except ApiError as exc:
                log.warning("refreshing connection %r failed: %s", connection.name, exc)
                return None
            fresh = make_connection(connection.name, answer.type, answer.values, answer.status)
            for secret in fresh.secret_values():
                executor.masker.learn(secret)
            executor.connections[connection.name] = fresh
            return fresh

        return refresh

    def _end(self, result: ExecutionResult) -> Completion:
        """The end as the protocol says it; one that does not fit is a failed end saying why."""
        try:
            return Completion.model_validate(
                {"status": result.status, "output": result.output, "error": result.error}
            )
        except ValidationError as exc:
            why = f"the execution's end cannot be reported: {describe(exc)}"
            return Completion(status=ExecutionStatus.FAILED, error=self._error("internal", why))

    def _error(self, kind: str, message: str) -> dict[str, Any]:
        # `node_id` None: the execution, not one of its nodes, is at fault.
        return {"node_id": None, "type": kind, "message": message, "attempt": self.claimed.attempt}

    async def _complete(self, result: ExecutionResult) -> None:
        """Queue the end and wait for the API's answer; shielded, so a cancellation (shutdown)
        cannot lose the write: the reporter delivers it before the runner exits."""
        self.completing = True
        done = self.context.reporter.complete(
            self.claimed.id, self.claimed.attempt, self._end(result)
        )
        verdict = await asyncio.shield(done)
        if verdict != "ok":
            log.warning(
                "the end of execution %s (attempt %s) was refused: %s",
                self.claimed.id,
                self.claimed.attempt,
                verdict,
            )


def _text(exc: BaseException) -> str:
    """`Type: message`, even when the exception's own `str` fails."""
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return type(exc).__name__
