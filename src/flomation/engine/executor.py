"""The executor: runs one execution of a `FlowPlan` as the flow format's "How an execution runs".

`Executor` is the public surface (run, cancel, retry from a node, recovery from an error) and
what one step does: render the node's config, run its attempts with their retries and
timeouts, and emit the step's events. Which nodes run when, in the main graph, the on_error
branch and each foreach iteration, is the scope runner's (`scope_runner`); what events show of
values is `event_values`'; how long a retry waits is `retry`'s.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flomation.engine.event_values import EVENT_VALUE_LIMIT, EventValues
from flomation.engine.events import (
    EXECUTION_FINISHED,
    EXECUTION_STARTED,
    LOG,
    NODE_CANCELLED,
    NODE_FAILED,
    NODE_RETRYING,
    NODE_SKIPPED,
    NODE_STARTED,
    NODE_SUCCEEDED,
    EventSink,
    ExecutionEvent,
    ExecutionRecorder,
    MultiSink,
    NullSink,
    json_problem,
)
from flomation.engine.expressions import scope_globals
from flomation.engine.masking import Masker
from flomation.engine.nodes.base import (
    CancelledNodeError,
    Connection,
    EngineServices,
    ExecutionInfo,
    InternalNodeError,
    LogLevel,
    LoopLimitError,
    NodeContext,
    NodeError,
    NodeOutcome,
    NodeTimeoutError,
    TemplateError,
)
from flomation.engine.nodes.foreach import ForeachNode
from flomation.engine.plan import FlowPlan, compile_value
from flomation.engine.retry import retry_delay_s
from flomation.engine.scope_runner import ScopeFailedError, ScopeRun, StepResult, run_foreach
from flomation.protocol.events import EventKind
from flomation.protocol.statuses import ExecutionStatus

__all__ = [
    "DEFAULT_CONCURRENCY",
    "EVENT_VALUE_LIMIT",
    "ExecutionResult",
    "Executor",
    "InvalidRetryError",
    "PriorStep",
    "prior_from_steps",
    "run_flow",
]

DEFAULT_CONCURRENCY = 16


@dataclass(frozen=True, slots=True)
class PriorStep:
    """What a succeeded node produced in the execution being retried."""

    output: Any
    port: str = "success"


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """How an execution ended. `output` is unmasked (it may feed a parent flow)."""

    status: ExecutionStatus  # one of the final statuses
    output: Any
    error: dict[str, Any] | None


def prior_from_steps(steps: Iterable[Mapping[str, Any]]) -> dict[str, PriorStep]:
    """The reusable outputs of an execution's steps (its document's `steps`), for a retry:
    the latest succeeded visit of each node of the main graph (not inside a foreach).

    Outputs must be the unmasked, untruncated values: keep them apart from the masked
    documents when a retry should reuse them."""
    prior: dict[str, PriorStep] = {}
    for step in steps:
        if (
            step.get("status") == "succeeded"
            and step.get("parent_step") is None
            and not step.get("output_truncated")
        ):
            prior[step["node_id"]] = PriorStep(step.get("output"), step.get("port") or "success")
    return prior


class InvalidRetryError(ValueError):
    """`from_node` does not name a node of the main graph."""


def _exception_text(exc: BaseException) -> str:
    """`Type: message` of an unexpected exception, even when its `str` fails too."""
    try:
        message = str(exc)
    except Exception:
        message = "(its message could not be shown)"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _elapsed_ms(began: float) -> float:
    return round((time.monotonic() - began) * 1000, 3)


class Executor:
    """Runs one execution of a plan. Create one per execution; `run` once.

    Cancel with `cancel()` (the execution ends `cancelled`); cancelling the task that awaits
    `run` also stops every node and emits the cancellation events before re-raising.
    `recover_from_error` makes it a recovery attempt: the main graph is not run, only the
    on_error branch with that `error` in scope, and the execution ends `failed` with it.
    """

    def __init__(
        self,
        plan: FlowPlan,
        *,
        services: EngineServices | None = None,
        sink: EventSink | None = None,
        execution: ExecutionInfo | None = None,
        variables: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        connections: Mapping[str, Connection] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        prior: Mapping[str, PriorStep] | None = None,
        from_node: str | None = None,
        event_value_limit: int = EVENT_VALUE_LIMIT,
        timeout_s: float | None = None,
        recover_from_error: Mapping[str, Any] | None = None,
    ) -> None:
        self.plan = plan
        # A recovery attempt: the main graph already failed with this error elsewhere (the
        # API's "runner lost"); only the on_error branch runs, and the execution ends
        # `failed` with this error, as if the failure had happened here (rule 6).
        self.recover_from_error = None if recover_from_error is None else dict(recover_from_error)
        # The execution's time limit: the flow's `timeout_s`, or what is left of it when a
        # later attempt continues an execution (its timeout counts from its first start).
        self.timeout_s = timeout_s if timeout_s is not None else plan.timeout_s
        self.services = services or EngineServices()
        self.sink: EventSink = sink or NullSink()
        self.execution = execution or ExecutionInfo()
        self.variables = dict(variables or {})
        self.secrets = dict(secrets or {})
        self.connections = dict(connections or {})
        self.masker = Masker(
            [
                *self.secrets.values(),
                *(value for c in self.connections.values() for value in c.secret_values()),
            ]
        )
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.values = EventValues(self.masker, event_value_limit)
        self.prior = dict(prior or {})
        self.reuse = self._reused_nodes(from_node)
        self.input: Any = None
        self.results: dict[str, Any] = {}
        self._seq = 0
        self._step = 0
        self._outbox: deque[ExecutionEvent] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._cancel_requested = False
        self._task: asyncio.Task[Any] | None = None

    def _reused_nodes(self, from_node: str | None) -> frozenset[str]:
        if from_node is None:
            return frozenset()
        main = self.plan.scopes["main"]
        if from_node not in main.members:
            raise InvalidRetryError(f"cannot retry from {from_node!r}: no such node in the flow")
        before = self.plan.shape.ancestors(from_node) & set(main.members)
        return frozenset(n for n in before if n in self.prior)

    # ------------------------------------------------------------------ events

    def emit(self, kind: EventKind, data: dict[str, Any]) -> None:
        self._seq += 1
        self._outbox.append(ExecutionEvent(self._seq, kind, time.time(), data))
        self._wake.set()

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                await self.sink.emit(self._outbox.popleft())
            if self._closing:
                return

    # ------------------------------------------------------------------ steps

    def _next_step(self) -> int:
        self._step += 1
        return self._step

    def skip_step(self, run: ScopeRun, node: str, visit: int) -> None:
        self.emit(
            NODE_SKIPPED,
            {
                "step": self._next_step(),
                "node_id": node,
                "visit": visit,
                "iteration": run.iteration,
                "parent_step": run.parent_step,
            },
        )

    async def run_step(
        self,
        run: ScopeRun,
        node_id: str,
        visit: int,
        taken_from: list[str],
        error: Mapping[str, Any] | None,
    ) -> StepResult:
        step = self._next_step()
        started: dict[str, Any] = {
            "step": step,
            "node_id": node_id,
            "visit": visit,
            "iteration": run.iteration,
            "parent_step": run.parent_step,
            "attempt": 1,
        }
        if node_id in run.reuse and visit == 1:
            return self._reuse_step(node_id, step, started)
        attempts = [1]  # updated by _attempts as it retries
        announced = False
        began = time.monotonic()
        try:
            node = self.plan.nodes[node_id]
            if visit > node.max_visits:
                raise LoopLimitError(
                    f"node {node_id!r} would run more than its max_visits ({node.max_visits})"
                )
            scope = run.scope_vars if error is None else {**run.scope_vars, "error": error}
            compiled = self.plan.configs[node_id]
            config = compiled.render(scope)
            # A template can give values that are not JSON (an undefined inside a list, a
            # key that is not a string, NaN): that is this node's template error, found here
            # rather than when its events are written.
            problem = json_problem(config, "config", max_depth=None)
            if problem is not None:
                raise TemplateError(f"the rendered config is not JSON: {problem}")
            self.values.put("input", config, started, is_json=True)
            self.emit(NODE_STARTED, started)
            announced = True
            outcome = await self._attempts(
                run, node_id, step, config, scope, error, taken_from, attempts
            )
            problem = json_problem(outcome.output, "output", max_depth=None)
            if problem is not None:
                raise InternalNodeError(
                    f"node type {self.plan.types[node_id].type!r} gave an output that is not "
                    f"JSON: {problem}"
                )
        except Exception as caught:
            # Anything else that goes wrong around a node (a bug in the engine or a node type)
            # fails this node, and so at worst this execution; never the process running it.
            exc = (
                caught
                if isinstance(caught, NodeError)
                else InternalNodeError(_exception_text(caught))
            )
            if not exc.node_id:
                exc.node_id = node_id
            if not exc.attempt:
                exc.attempt = attempts[0]
            if not announced:
                self.emit(NODE_STARTED, started)
            self.emit(
                NODE_FAILED,
                {
                    "step": step,
                    "node_id": node_id,
                    "attempts": attempts[0],
                    "error": self.values.error(exc),
                    "handled": node_id in run.scope.error_ports,
                    "duration_ms": _elapsed_ms(began),
                },
            )
            return StepResult(None, exc)
        except asyncio.CancelledError:
            if not announced:
                self.emit(NODE_STARTED, started)
            self.emit(
                NODE_CANCELLED,
                {
                    "step": step,
                    "node_id": node_id,
                    "attempts": attempts[0],
                    "duration_ms": _elapsed_ms(began),
                },
            )
            raise
        succeeded: dict[str, Any] = {
            "step": step,
            "node_id": node_id,
            "attempts": attempts[0],
            "port": outcome.port,
            "duration_ms": _elapsed_ms(began),
        }
        self.values.put("output", outcome.output, succeeded, is_json=True)
        self.emit(NODE_SUCCEEDED, succeeded)
        return StepResult(outcome, None)

    def _reuse_step(self, node_id: str, step: int, started: dict[str, Any]) -> StepResult:
        prior = self.prior[node_id]
        self.emit(NODE_STARTED, {**started, "input": None, "reused": True})
        succeeded: dict[str, Any] = {
            "step": step,
            "node_id": node_id,
            "attempts": 1,
            "port": prior.port,
            "reused": True,
        }
        self.values.put("output", prior.output, succeeded)
        self.emit(NODE_SUCCEEDED, succeeded)
        return StepResult(NodeOutcome(prior.output, prior.port), None)

    async def _attempts(
        self,
        run: ScopeRun,
        node_id: str,
        step: int,
        config: dict[str, Any],
        scope: dict[str, Any],
        error: Mapping[str, Any] | None,
        taken_from: list[str],
        attempts: list[int],
    ) -> NodeOutcome:
        node = self.plan.nodes[node_id]
        node_type = self.plan.types[node_id]
        policy = node.retry if node_type.retryable else None
        max_attempts = policy.max_attempts if policy else 1
        attempt = 1
        while True:
            try:
                if isinstance(node_type, ForeachNode):
                    return await run_foreach(self, run, node_id, step, config, error)
                outcome = await self._attempt(
                    run, node_id, attempt, config, scope, error, taken_from
                )
                ports = self.plan.ports[node_id]
                if ports and outcome.port not in ports:
                    raise InternalNodeError(
                        f"node type {node_type.type!r} chose port {outcome.port!r}, "
                        f"which it does not have"
                    )
                return outcome
            except ScopeFailedError as failed:
                raise failed.error from None
            except NodeError as exc:
                failure = exc
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failure = InternalNodeError(f"{type(exc).__name__}: {exc}")
            failure.node_id = failure.node_id or node_id
            failure.attempt = attempt
            if not (failure.retryable and policy is not None and attempt < max_attempts):
                raise failure
            delay = retry_delay_s(policy, attempt)
            self.emit(
                NODE_RETRYING,
                {
                    "step": step,
                    "node_id": node_id,
                    "attempt": attempt,
                    "error": self.values.error(failure),
                    "delay_s": delay,
                },
            )
            await asyncio.sleep(delay)
            attempt += 1
            attempts[0] = attempt

    async def _attempt(
        self,
        run: ScopeRun,
        node_id: str,
        attempt: int,
        config: dict[str, Any],
        scope: dict[str, Any],
        error: Mapping[str, Any] | None,
        taken_from: list[str],
    ) -> NodeOutcome:
        node = self.plan.nodes[node_id]
        node_type = self.plan.types[node_id]
        timeout_s = node.timeout_s
        deadline = time.monotonic() + timeout_s if timeout_s else None
        step_log = self._logger(node_id)
        ctx = NodeContext(
            node_id=node_id,
            node_type=node_type.type,
            config=config,
            raw_config=node.config,
            execution=self.execution,
            attempt=attempt,
            log=step_log,
            services=self.services,
            input=self.input,
            nodes=run.nodes_view,
            vars=self.variables,
            secrets=self.secrets,
            connections=self.connections,
            taken_from=taken_from,
            deadline=deadline,
            visit=run.visits[node_id],
            iteration=run.iteration,
            error=error,
            render=lambda value: _render_any(value, scope),
        )
        if node_type.pure:
            return await node_type.run(ctx)
        async with self.slots:
            if timeout_s is None:
                return await node_type.run(ctx)
            limit = asyncio.timeout(timeout_s)
            try:
                async with limit:
                    return await node_type.run(ctx)
            except TimeoutError:
                if limit.expired():
                    raise NodeTimeoutError(
                        f"attempt {attempt} took longer than the node's timeout_s ({timeout_s:g})"
                    ) from None
                raise

    def _logger(self, node_id: str) -> Any:
        def log(level: LogLevel, message: str) -> None:
            try:
                text = str(message)
            except Exception as exc:
                text = f"(a log message that could not be shown: {type(exc).__name__})"
            shown = self.values.message(text)
            self.emit(LOG, {"node_id": node_id, "level": level, "message": shown})

        return log

    # ------------------------------------------------------------------ the execution

    def cancel(self) -> None:
        """Cancels the execution: running nodes stop, the execution ends `cancelled`."""
        self._cancel_requested = True
        if self._task is not None:
            self._task.cancel()

    def _base_scope(self, input: Any) -> dict[str, Any]:
        scope = scope_globals()
        scope.update(
            {
                "input": input,
                "nodes": self.results,
                "vars": self.variables,
                # Tainted, so what templates make of a secret is masked too (see masking).
                "secrets": self.masker.tainted(self.secrets),
                "execution": {"id": self.execution.execution_id, "attempt": self.execution.attempt},
                "flow": {"id": self.execution.flow_id, "revision": self.execution.flow_revision},
            }
        )
        return scope

    async def run(self, input: Any = None) -> ExecutionResult:
        """Runs the execution to its end and returns how it ended."""
        self._task = asyncio.current_task()
        self.input = input
        pump = asyncio.create_task(self._pump())
        self.emit(
            EXECUTION_STARTED,
            {
                "input": self.values.safe(input),
                "execution_id": self.execution.execution_id,
                "attempt": self.execution.attempt,
                "flow_id": self.execution.flow_id,
                "flow_revision": self.execution.flow_revision,
            },
        )
        result: ExecutionResult | None = None
        try:
            if self._cancel_requested:  # cancelled before it began
                raise asyncio.CancelledError
            limit = asyncio.timeout(self.timeout_s)
            try:
                async with limit:
                    result = await self._run_graph(input)
            except TimeoutError:
                if not limit.expired():
                    raise
                result = ExecutionResult(
                    ExecutionStatus.TIMED_OUT,
                    None,
                    {
                        "node_id": None,
                        "type": "timeout",
                        "message": f"the execution ran longer than its time limit "
                        f"({self.timeout_s:g} s)",
                        "attempt": self.execution.attempt,
                    },
                )
        except asyncio.CancelledError:
            result = ExecutionResult(
                ExecutionStatus.CANCELLED,
                None,
                CancelledNodeError("the execution was cancelled", attempt=1).to_dict()
                | {"node_id": None, "attempt": self.execution.attempt},
            )
            task = asyncio.current_task()
            if not self._cancel_requested or task is None:
                await self._finish(result, pump)
                raise
            if task.cancelling():
                task.uncancel()
        except BaseException:
            pump.cancel()
            raise
        await self._finish(result, pump)
        return result

    async def _finish(self, result: ExecutionResult, pump: asyncio.Task[None]) -> None:
        self.emit(
            EXECUTION_FINISHED,
            {
                "status": result.status,
                "output": self.values.safe(result.output),
                "error": self.values.safe(result.error),
            },
        )
        self._closing = True
        self._wake.set()
        await pump

    async def _run_graph(self, input: Any) -> ExecutionResult:
        scope_vars = self._base_scope(input)
        if self.recover_from_error is not None:
            error = self.recover_from_error
            return ExecutionResult(
                ExecutionStatus.FAILED, await self._run_on_error(error, scope_vars), error
            )
        main = ScopeRun(
            self,
            self.plan.scopes["main"],
            results=self.results,
            scope_vars=scope_vars,
            reuse=self.reuse,
        )
        try:
            await main.run()
        except ScopeFailedError as failed:
            error = failed.error.to_dict()
            output = await self._run_on_error(error, scope_vars)
            return ExecutionResult(ExecutionStatus.FAILED, output, error)
        return ExecutionResult(ExecutionStatus.SUCCEEDED, main.return_value, None)

    async def _run_on_error(self, error: dict[str, Any], scope_vars: dict[str, Any]) -> Any:
        scope = self.plan.scopes.get("on_error")
        if scope is None:
            return None
        branch = ScopeRun(
            self,
            scope,
            results=self.results,
            scope_vars={**scope_vars, "error": dict(error)},
            base_error=dict(error),
        )
        try:
            await branch.run()
        except ScopeFailedError:
            return None  # recorded on its step; the original error stays the execution's
        return branch.return_value


def _render_any(value: Any, scope: dict[str, Any]) -> Any:
    renderer = compile_value(value, "value")
    return value if renderer is None else renderer(scope)


async def run_flow(
    doc: Any,
    input: Any = None,
    *,
    sink: EventSink | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Validates, runs and records one execution; returns the execution document.

    `options` are `Executor` keyword arguments (services, variables, secrets, ...). Raises
    `InvalidDefinitionError` for a definition with errors.
    """
    plan = doc if isinstance(doc, FlowPlan) else FlowPlan.from_document(doc)
    recorder = ExecutionRecorder()
    executor = Executor(plan, sink=MultiSink(recorder, sink) if sink else recorder, **options)
    await executor.run(input)
    return recorder.document()
