"""The scope runner: runs one scope of a `FlowPlan` (the main graph, the on_error branch, one
foreach iteration) as the flow format's "How an execution runs" says.

Per visit of a node, each incoming edge is pending, taken or dead; a node whose forward edges
are all resolved runs (a taken one) or is skipped (none taken: its outgoing edges die). Ready
nodes run concurrently as tasks, except `pure` node types, which run inline because they never
wait. Back-edges start a new visit of their target's loop region. When nothing runs and
nothing is ready, pending edges die; when that changes nothing, the scope ends.

What a step does (events, retries, the node itself) is the `StepRunner`'s: the executor.
"""

from __future__ import annotations

import asyncio
from collections import ChainMap, deque
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from flomation.engine.graph import Scope
from flomation.engine.nodes.base import NodeError, NodeOutcome
from flomation.engine.plan import FlowPlan

__all__ = ["ScopeFailedError", "ScopeRun", "StepResult", "StepRunner", "run_foreach"]

_PENDING, _TAKEN, _DEAD = 0, 1, 2
_WAITING, _RUNNING, _DONE = 0, 1, 2


class StepRunner(Protocol):
    """What a scope run needs from the executor: the plan, and running or skipping one step."""

    plan: FlowPlan

    async def run_step(
        self,
        run: ScopeRun,
        node_id: str,
        visit: int,
        taken_from: list[str],
        error: Mapping[str, Any] | None,
    ) -> StepResult: ...

    def skip_step(self, run: ScopeRun, node: str, visit: int) -> None: ...


class ScopeFailedError(Exception):
    """An unhandled node failure leaves its scope."""

    def __init__(self, error: NodeError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(slots=True)
class StepResult:
    outcome: NodeOutcome | None
    error: NodeError | None


class ScopeRun:
    """One run of one scope: the main graph, the on_error branch, or a foreach iteration."""

    def __init__(
        self,
        executor: StepRunner,
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
        self.running: dict[asyncio.Task[StepResult], str] = {}
        self._done: asyncio.Queue[asyncio.Task[StepResult]] | None = None
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

    def _done_queue(self) -> asyncio.Queue[asyncio.Task[StepResult]]:
        if self._done is None:
            self._done = asyncio.Queue()
        return self._done

    def _finish_task(self, task: asyncio.Task[StepResult]) -> None:
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

    def _complete(self, node: str, result: StepResult) -> None:
        self.phase[node] = _DONE
        carry: Mapping[str, Any] | None
        if result.error is not None:
            error = result.error
            if node not in self.scope.error_ports:
                raise ScopeFailedError(error)
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


async def run_foreach(
    executor: StepRunner,
    run: ScopeRun,
    node_id: str,
    step: int,
    config: dict[str, Any],
    error: Mapping[str, Any] | None,
) -> NodeOutcome:
    """Runs a foreach node's body once per item (`parallelism` at a time), each iteration a
    scope run of its own over a layer of `nodes` on top of the enclosing scope's."""
    items: list[Any] = config["items"]
    length = len(items)
    parallelism = int(config.get("parallelism", 1))
    scope = executor.plan.scopes[node_id]
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
        body = ScopeRun(
            executor,
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
        except* ScopeFailedError as failures:
            first = failures.exceptions[0]
            assert isinstance(first, ScopeFailedError)
            raise first from None
    return NodeOutcome({"results": results}, "done")


# ------------------------------------------------------------------ the execution
