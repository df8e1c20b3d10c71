"""Engine overhead: per-node cost on a 1,000-node chain of set nodes, and a foreach over
10,000 items with a set body, each beside a plain Python loop doing the same template renders.

Run: .venv/bin/python bench/engine_overhead.py
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from flomation.engine.events import ExecutionRecorder
from flomation.engine.executor import Executor
from flomation.engine.expressions import compile_template, scope_globals
from flomation.engine.plan import FlowPlan

CHAIN_LENGTH = 1_000
FOREACH_ITEMS = 10_000
REPEATS = 5

CHAIN_TEMPLATE = "{{ input.n + 1 }}"
BODY_TEMPLATE = "{{ item * 2 }}"


def chain_definition() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    edges = []
    previous = "start"
    for i in range(CHAIN_LENGTH):
        node_id = f"n{i}"
        nodes.append({"id": node_id, "type": "set", "config": {"values": {"v": CHAIN_TEMPLATE}}})
        edges.append({"from": previous, "to": node_id})
        previous = node_id
    return {"version": 1, "nodes": nodes, "edges": edges}


def foreach_definition() -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "each", "type": "foreach", "config": {"items": "{{ input.xs }}"}},
            {"id": "body", "type": "set", "config": {"values": {"v": BODY_TEMPLATE}}},
        ],
        "edges": [
            {"from": "start", "to": "each"},
            {"from": "each", "to": "body", "port": "each"},
        ],
    }


def reference_chain(input_value: Any) -> None:
    """What the chain does without the engine: the same render per node into a dict."""
    template = compile_template(CHAIN_TEMPLATE)
    scope = {**scope_globals(), "input": input_value}
    results = {}
    for i in range(CHAIN_LENGTH):
        results[f"n{i}"] = {"output": {"v": template.render(scope)}}


def reference_foreach(items: list[int]) -> None:
    template = compile_template(BODY_TEMPLATE)
    base = scope_globals()
    results = []
    for index, item in enumerate(items):
        scope = {**base, "item": item, "loop": {"index": index, "length": len(items)}}
        results.append({"v": template.render(scope)})


async def run_engine(plan: FlowPlan, input_value: Any) -> None:
    recorder = ExecutionRecorder()
    result = await Executor(plan, sink=recorder).run(input_value)
    assert result.status == "succeeded", result.error


# CPU time of this process: on a machine busy with other work, wall time mostly measures the
# wait for a core, while CPU time stays what the code itself costs. Both are reported.
CLOCK = time.process_time


def best_of(measure: Callable[[], None]) -> float:
    times = []
    for _ in range(REPEATS):
        started = CLOCK()
        measure()
        times.append(CLOCK() - started)
    return min(times)


async def best_of_async(measure: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """(best CPU time, median wall time)."""
    cpu, wall = [], []
    for _ in range(REPEATS):
        started_cpu, started_wall = CLOCK(), time.perf_counter()
        await measure()
        cpu.append(CLOCK() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
    return min(cpu), statistics.median(wall)


async def main() -> None:
    chain_plan = FlowPlan.from_document(chain_definition())
    foreach_plan = FlowPlan.from_document(foreach_definition())
    chain_input = {"n": 1}
    items = list(range(FOREACH_ITEMS))

    chain_best, chain_median = await best_of_async(lambda: run_engine(chain_plan, chain_input))
    chain_reference = best_of(lambda: reference_chain(chain_input))
    foreach_best, foreach_median = await best_of_async(
        lambda: run_engine(foreach_plan, {"xs": items})
    )
    foreach_reference = best_of(lambda: reference_foreach(items))

    per_node_us = chain_best / (CHAIN_LENGTH + 1) * 1e6
    reference_us = chain_reference / CHAIN_LENGTH * 1e6
    print(f"chain of {CHAIN_LENGTH} set nodes (best CPU time of {REPEATS}, recorder sink)")
    print(
        f"  engine:    {chain_best * 1000:8.1f} ms  ({per_node_us:.1f} us/node, "
        f"median wall {chain_median * 1000:.1f} ms)"
    )
    print(f"  reference: {chain_reference * 1000:8.1f} ms  ({reference_us:.1f} us/render)")
    print(
        f"  overhead:  {per_node_us - reference_us:.1f} us/node, "
        f"ratio {chain_best / chain_reference:.1f}x"
    )
    print(f"foreach over {FOREACH_ITEMS} items with a set body")
    print(
        f"  engine:    {foreach_best * 1000:8.1f} ms  (median wall {foreach_median * 1000:.1f} ms)"
    )
    print(f"  reference: {foreach_reference * 1000:8.1f} ms")
    print(f"  ratio:     {foreach_best / foreach_reference:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
