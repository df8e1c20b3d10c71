"""The executor: runs one execution of a `FlowPlan` as the flow format's "How an execution runs".

Each scope (the main graph, the on_error branch, one foreach iteration) is run by a
`_ScopeRun`: per visit of a node, each incoming edge is pending, taken or dead; a node whose
forward edges are all resolved runs (a taken one) or is skipped (none taken: its outgoing
edges die). Ready nodes run concurrently as tasks, except `pure` node types, which run inline
because they never wait. Back-edges start a new visit of their target's loop region. When
nothing runs and nothing is ready, pending edges die; when that changes nothing, the scope
ends.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import ChainMap, deque
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from flomation.engine.definition import RetryPolicy
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
    json_safe,
)
from flomation.engine.expressions import scope_globals
from flomation.engine.graph import Scope
from flomation.engine.masking import Masker
from flomation.engine.nodes.base import (
    CancelledNodeError,
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
from flomation.protocol.events import EventKind

__all__ = [
    "DEFAULT_CONCURRENCY",
    "EVENT_VALUE_LIMIT",
    "ExecutionResult",
    "Executor",
    "InvalidRetryError",
    "PriorStep",
    "prior_from_steps",
    "retry_delay_s",
    "run_flow",
]

DEFAULT_CONCURRENCY = 16
# Outputs and inputs larger than this (as JSON) are truncated in events, never between nodes.
EVENT_VALUE_LIMIT = 64 * 1024

_PENDING, _TAKEN, _DEAD = 0, 1, 2
_WAITING, _RUNNING, _DONE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class PriorStep:
    """What a succeeded node produced in the execution being retried."""

    output: Any
    port: str = "success"


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """How an execution ended. `output` is unmasked (it may feed a parent flow)."""

    status: str  # succeeded, failed, cancelled, timed_out
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


def retry_delay_s(policy: RetryPolicy, failed_attempt: int) -> float:
    """The wait after `failed_attempt` (1-based): fixed or doubling, capped, with jitter
    drawing from the upper half of the delay so retries of many executions spread out."""
    delay = policy.delay_s
    if policy.backoff == "exponential":
        delay *= 2 ** min(failed_attempt - 1, 60)
    delay = min(delay, policy.max_delay_s)
    if policy.jitter:
        delay *= random.uniform(0.5, 1.0)
    return delay


_TOO_DEEP = "(value nested too deeply to show)"


def _exception_text(exc: BaseException) -> str:
    """`Type: message` of an unexpected exception, even when its `str` fails too."""
    try:
        message = str(exc)
    except Exception:
        message = "(its message could not be shown)"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _json_text(value: Any) -> str:
    """JSON text as events carry it; raises for what is not JSON (NaN, lone surrogates)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    text.encode()  # a lone surrogate raises UnicodeEncodeError (a ValueError) here
    return text


def _elapsed_ms(began: float) -> float:
    return round((time.monotonic() - began) * 1000, 3)


def _quick_size(value: Any, depth: int) -> int:
    """JSON size bound of a small value (scalars, small mappings of them), or -1."""
    if isinstance(value, str):
        return len(value) * 6 + 2
    if value is None or isinstance(value, int | float):
        return 24
    if depth and isinstance(value, dict) and len(value) <= 8:
        total = 2
        for key, sub in value.items():
            size = _quick_size(sub, depth - 1)
            if size < 0 or not isinstance(key, str):
                return -1
            total += len(key) * 6 + size + 4
        return total
    return -1


def _smaller_than(value: Any, budget: int) -> bool:
    """A quick bound: True when `value` is surely smaller than `budget` characters as JSON
    (each scalar counted generously), without serialising it."""
    quick = _quick_size(value, 2)
    if quick >= 0:
        return quick < budget
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            budget -= len(item) * 6 + 2  # worst case: every character escaped
        elif isinstance(item, dict):
            budget -= 2 * len(item) + 2
            for key, sub in item.items():
                stack.append(key)
                stack.append(sub)
        elif isinstance(item, list):
            budget -= len(item) + 2
            stack.extend(item)
        else:
            budget -= 24
        if budget < 0:
            return False
    return True


class _ScopeFailedError(Exception):
    """An unhandled node failure leaves its scope."""

    def __init__(self, error: NodeError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(slots=True)
class _StepResult:
    outcome: NodeOutcome | None
    error: NodeError | None


class _ScopeRun:
    """One run of one scope: the main graph, the on_error branch, or a foreach iteration."""

    def __init__(
        self,
        executor: Executor,
        scope: Scope,
        *,
        results: dict[str, Any],
        scope_vars: dict[str, Any],
        iteration: int | None = None,
        parent_step: int | None = None,
        base_error: Mapping[str, Any] | None = None,
        reuse: frozenset[str] = frozenset(),
    ) -> None:
        self.ex = executor
        self.scope = scope
        self.edges = executor.plan.edges
        self.results = results
        self.nodes_view: MutableMapping[str, Any] = scope_vars["nodes"]
        self.scope_vars = scope_vars
        self.iteration = iteration
        self.parent_step = parent_step
        self.base_error = base_error
        self.reuse = reuse
        members = scope.members
        self.state = dict.fromkeys(scope.edges, _PENDING)
        self.pending = scope.initial_pending.copy()
        self.taken = dict.fromkeys(members, 0)
        self.phase = dict.fromkeys(members, _WAITING)
        self.visits = dict.fromkeys(members, 0)
        self.forced: dict[str, list[str]] = {}  # node -> sources of taken back-edges
        self.carry: dict[int, Mapping[str, Any]] = {}  # error carried along a taken edge
        self.ready: deque[str] = deque()
        self.running: dict[asyncio.Task[_StepResult], str] = {}
        self._done: asyncio.Queue[asyncio.Task[_StepResult]] | None = None
        self.deferred: list[tuple[str, str]] = []
        self.finished = False
        self.return_value: Any = None

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        for node in self.scope.entry_nodes:
            self.forced[node] = []
            if self.pending[node] == 0:
                self.ready.append(node)
        for index in self.scope.entry_edges:
            self._resolve(index, _TAKEN, self.base_error)
        try:
            await self._loop()
        finally:
            if self.running:
                tasks = list(self.running)
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                self.running.clear()

    async def _loop(self) -> None:
        while True:
            while self.ready and not self.finished:
                node = self.ready.popleft()
                if self.phase[node] != _WAITING or self.pending[node]:
                    continue
                if not self.taken[node] and node not in self.forced:
                    self._skip(node)
                    continue
                await self._start(node)
            if self.finished:
                return
            if not self.running:
                if self._kill_pending():
                    continue
                return
            done = self._done_queue()
            self._finish_task(await done.get())
            while not done.empty() and not self.finished:
                self._finish_task(done.get_nowait())
            if self.deferred:
                self._retry_deferred()

    def _done_queue(self) -> asyncio.Queue[asyncio.Task[_StepResult]]:
        if self._done is None:
            self._done = asyncio.Queue()
        return self._done

    def _finish_task(self, task: asyncio.Task[_StepResult]) -> None:
        node = self.running.pop(task, None)
        if node is not None:
            self._complete(node, task.result())

    async def _start(self, node: str) -> None:
        visit = self.visits[node] + 1
        self.visits[node] = visit
        self.phase[node] = _RUNNING
        taken_from: list[str] = []
        error: Mapping[str, Any] | None = None
        for index in self.scope.forward_in[node]:
            if self.state[index] == _TAKEN:
                taken_from.append(self.edges[index].source)
                if error is None:
                    error = self.carry.get(index)
        back_sources = self.forced.pop(node, None)
        if back_sources:
            taken_from.extend(back_sources)
        if error is None:
            error = self.base_error
        step = self.ex.run_step(self, node, visit, taken_from, error)
        if self.ex.plan.types[node].pure:
            self._complete(node, await step)
            return
        task = asyncio.create_task(step)
        self.running[task] = node
        task.add_done_callback(self._done_queue().put_nowait)

    # ------------------------------------------------------------------ edge states

    def _resolve(self, index: int, state: int, carry: Mapping[str, Any] | None = None) -> None:
        old = self.state[index]
        self.state[index] = state
        edge = self.edges[index]
        if edge.back:
            return
        target = edge.target
        if old == _PENDING:
            self.pending[target] -= 1
        if state == _TAKEN:
            self.taken[target] += 1
            if carry is not None:
                self.carry[index] = carry
        if not self.pending[target] and self.phase[target] == _WAITING:
            self.ready.append(target)

    def _complete(self, node: str, result: _StepResult) -> None:
        self.phase[node] = _DONE
        carry: Mapping[str, Any] | None
        if result.error is not None:
            error = result.error
            if node not in self.scope.error_ports:
                raise _ScopeFailedError(error)
            carry = error.to_dict()
            self.results[node] = {"error": carry}
            port = "error"
        else:
            outcome = result.outcome
            assert outcome is not None
            self.results[node] = {"output": outcome.output}
            if self.ex.plan.types[node].type == "return":
                self.finished = True
                self.return_value = outcome.output
                return
            port = outcome.port
            carry = self._error_in_scope(node)
        out = self.scope.out[node]
        backs = [i for i in out if self.edges[i].back and self.edges[i].port == port]
        for index in out:
            edge = self.edges[index]
            if edge.back:
                continue
            if edge.port == port:
                self._resolve(index, _TAKEN, carry)
            elif not backs:
                self._resolve(index, _DEAD)
        for index in backs:
            self._revisit(self.edges[index].target, node)

    def _error_in_scope(self, node: str) -> Mapping[str, Any] | None:
        for index in self.scope.forward_in[node]:
            if self.state[index] == _TAKEN and index in self.carry:
                return self.carry[index]
        return self.base_error

    def _skip(self, node: str) -> None:
        self.phase[node] = _DONE
        self.ex.skip_step(self, node, self.visits[node] + 1)
        for index in self.scope.out[node]:
            if not self.edges[index].back:
                self._resolve(index, _DEAD)

    def _revisit(self, target: str, source: str) -> None:
        """A taken back-edge: a new visit of `target` with fresh edges in its loop region."""
        region, inner = self.scope.region(target, self.edges)
        if any(self.phase[n] == _RUNNING for n in region):
            self.deferred.append((target, source))  # the previous visit must end first
            return
        for index in inner:
            old = self.state[index]
            if old != _PENDING:
                self.state[index] = _PENDING
                edge_target = self.edges[index].target
                self.pending[edge_target] += 1
                if old == _TAKEN:
                    self.taken[edge_target] -= 1
            self.carry.pop(index, None)
        for node in region:
            self.phase[node] = _WAITING
        self.forced.setdefault(target, []).append(source)
        if not self.pending[target]:
            self.ready.append(target)

    def _retry_deferred(self) -> None:
        waiting, self.deferred = self.deferred, []
        for target, source in waiting:
            self._revisit(target, source)

    def _kill_pending(self) -> bool:
        """Nothing runs, nothing is ready: pending edges can no longer be taken."""
        changed = False
        for index, state in self.state.items():
            if state == _PENDING and not self.edges[index].back:
                target = self.edges[index].target
                if self.phase[target] == _WAITING:
                    self._resolve(index, _DEAD)
                    changed = True
        return changed and bool(self.ready)

    def iteration_result(self) -> Any:
        """The body's end nodes that ran: one output, or `{id: output}` of several."""
        ran = [n for n in self.scope.ends if "output" in self.results.get(n, ())]
        if not ran:
            return None
        if len(ran) == 1:
            return self.results[ran[0]]["output"]
        return {n: self.results[n]["output"] for n in ran}


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
        self.masker = Masker(self.secrets.values())
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.event_value_limit = event_value_limit
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

    def _shown(self, value: Any) -> Any:
        """`value` as events show it: masked, or a note when it is nested too deeply to walk."""
        try:
            return self.masker.value(value)
        except RecursionError:
            return _TOO_DEEP

    def _safe(self, value: Any) -> Any:
        """`value` masked and sure to become JSON: events travel in batches shared with other
        executions, so nothing in one may fail when the batch is written."""
        masked = self._shown(value)
        if json_problem(masked) is None:
            return masked
        return json_safe(masked, max_string=self.event_value_limit)

    def _event_value(
        self, name: str, value: Any, data: dict[str, Any], *, is_json: bool = False
    ) -> None:
        """Puts a masked, size-limited, JSON-safe copy of `value` into event data. `is_json`:
        `value` was checked already (masking only swaps strings for strings, so the masked
        copy needs no second check)."""
        masked = self._shown(value)
        if _smaller_than(masked, self.event_value_limit // 2):
            if is_json and masked is not _TOO_DEEP:
                data[name] = masked
            else:
                data[name] = masked if json_problem(masked) is None else self._safe(masked)
            return
        try:
            text = _json_text(masked)
        except RecursionError:
            data[name] = _TOO_DEEP
            data[f"{name}_truncated"] = True
            return
        except (TypeError, ValueError):
            masked = json_safe(masked, max_string=self.event_value_limit)
            text = _json_text(masked)
        if len(text) > self.event_value_limit:
            data[name] = text[: self.event_value_limit]
            data[f"{name}_truncated"] = True
        else:
            data[name] = masked

    def _error_data(self, error: NodeError) -> dict[str, Any]:
        data: dict[str, Any] = self._safe(error.to_dict())
        return data

    # ------------------------------------------------------------------ steps

    def _next_step(self) -> int:
        self._step += 1
        return self._step

    def skip_step(self, run: _ScopeRun, node: str, visit: int) -> None:
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
        run: _ScopeRun,
        node_id: str,
        visit: int,
        taken_from: list[str],
        error: Mapping[str, Any] | None,
    ) -> _StepResult:
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
            self._event_value("input", config, started, is_json=True)
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
                    "error": self._error_data(exc),
                    "handled": node_id in run.scope.error_ports,
                    "duration_ms": _elapsed_ms(began),
                },
            )
            return _StepResult(None, exc)
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
        self._event_value("output", outcome.output, succeeded, is_json=True)
        self.emit(NODE_SUCCEEDED, succeeded)
        return _StepResult(outcome, None)

    def _reuse_step(self, node_id: str, step: int, started: dict[str, Any]) -> _StepResult:
        prior = self.prior[node_id]
        self.emit(NODE_STARTED, {**started, "input": None, "reused": True})
        succeeded: dict[str, Any] = {
            "step": step,
            "node_id": node_id,
            "attempts": 1,
            "port": prior.port,
            "reused": True,
        }
        self._event_value("output", prior.output, succeeded)
        self.emit(NODE_SUCCEEDED, succeeded)
        return _StepResult(NodeOutcome(prior.output, prior.port), None)

    async def _attempts(
        self,
        run: _ScopeRun,
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
                    return await self._run_foreach(run, node_id, step, config, error)
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
            except _ScopeFailedError as failed:
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
                    "error": self._error_data(failure),
                    "delay_s": delay,
                },
            )
            await asyncio.sleep(delay)
            attempt += 1
            attempts[0] = attempt

    async def _attempt(
        self,
        run: _ScopeRun,
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
            shown = json_safe(self.masker.text(text), max_string=self.event_value_limit)
            self.emit(LOG, {"node_id": node_id, "level": level, "message": shown})

        return log

    # ------------------------------------------------------------------ foreach

    async def _run_foreach(
        self,
        run: _ScopeRun,
        node_id: str,
        step: int,
        config: dict[str, Any],
        error: Mapping[str, Any] | None,
    ) -> NodeOutcome:
        items: list[Any] = config["items"]
        length = len(items)
        parallelism = int(config.get("parallelism", 1))
        scope = self.plan.scopes[node_id]
        results: list[Any] = [None] * length

        async def iterate(index: int) -> None:
            layer: dict[str, Any] = {}
            view = ChainMap(layer, run.nodes_view)
            scope_vars = {
                **run.scope_vars,
                "nodes": view,
                "item": items[index],
                "loop": {"index": index, "length": length},
            }
            body = _ScopeRun(
                self,
                scope,
                results=layer,
                scope_vars=scope_vars,
                iteration=index,
                parent_step=step,
                base_error=error,
            )
            await body.run()
            results[index] = body.iteration_result()

        if parallelism <= 1 or length <= 1:
            for index in range(length):
                await iterate(index)
        else:
            indexes = iter(range(length))

            async def worker() -> None:
                for index in indexes:
                    await iterate(index)

            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(min(parallelism, length)):
                        group.create_task(worker())
            except* _ScopeFailedError as failures:
                first = failures.exceptions[0]
                assert isinstance(first, _ScopeFailedError)
                raise first from None
        return NodeOutcome({"results": results}, "done")

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
                "input": self._safe(input),
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
                    "timed_out",
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
                "cancelled",
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
                "output": self._safe(result.output),
                "error": self._safe(result.error),
            },
        )
        self._closing = True
        self._wake.set()
        await pump

    async def _run_graph(self, input: Any) -> ExecutionResult:
        scope_vars = self._base_scope(input)
        if self.recover_from_error is not None:
            error = self.recover_from_error
            return ExecutionResult("failed", await self._run_on_error(error, scope_vars), error)
        main = _ScopeRun(
            self,
            self.plan.scopes["main"],
            results=self.results,
            scope_vars=scope_vars,
            reuse=self.reuse,
        )
        try:
            await main.run()
        except _ScopeFailedError as failed:
            error = failed.error.to_dict()
            output = await self._run_on_error(error, scope_vars)
            return ExecutionResult("failed", output, error)
        return ExecutionResult("succeeded", main.return_value, None)

    async def _run_on_error(self, error: dict[str, Any], scope_vars: dict[str, Any]) -> Any:
        scope = self.plan.scopes.get("on_error")
        if scope is None:
            return None
        branch = _ScopeRun(
            self,
            scope,
            results=self.results,
            scope_vars={**scope_vars, "error": dict(error)},
            base_error=dict(error),
        )
        try:
            await branch.run()
        except _ScopeFailedError:
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
