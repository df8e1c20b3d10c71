"""Execution semantics: readiness, dead paths, concurrency, loops, foreach, merge, return."""

from __future__ import annotations

from typing import Any

import pytest

from flomation.engine.nodes.foreach import ForeachNode
from tests.engine.flows import edge, flow, node, ret, run, set_node
from tests.engine.probes import probe_plan


def probe(node_id: str, **config: object) -> dict[str, object]:
    return node(node_id, "probe", config=config)


async def test_a_join_after_parallel_branches_runs_once_after_all_of_them() -> None:
    doc = flow(
        [
            node("start", "start"),
            probe("a", sleep_s=0.02),
            probe("b"),
            node("j", "merge"),
            ret("r", "{{ nodes.j.output }}"),
        ],
        [edge("start", "a"), edge("start", "b"), edge("a", "j"), edge("b", "j"), edge("j", "r")],
    )
    plan, _p = probe_plan(doc)
    result = await run(plan)
    assert result.output == {"a": {"node": "a"}, "b": {"node": "b"}}
    assert result.ran("j") == 1
    order = [e.data["node_id"] for e in result.events if e.kind == "node.succeeded"]
    assert order.index("j") > order.index("a")
    assert order.index("j") > order.index("b")


async def test_dead_path_elimination_skips_a_chain_and_its_join_still_runs() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("c", "condition", config={"expression": "{{ false }}"}),
            set_node("t1"),
            set_node("t2"),
            set_node("f1", v=1),
            node("j", "merge"),
            ret("r", "{{ nodes.j.output }}"),
        ],
        [
            edge("start", "c"),
            edge("c", "t1", "true"),
            edge("t1", "t2"),
            edge("c", "f1", "false"),
            edge("t2", "j"),
            edge("f1", "j"),
            edge("j", "r"),
        ],
    )
    result = await run(doc)
    assert result.output == {"f1": {"v": 1}}
    assert [s["status"] for s in result.steps("t1") + result.steps("t2")] == ["skipped", "skipped"]


async def test_ready_nodes_run_concurrently_up_to_the_limit() -> None:
    nodes = [node("start", "start")] + [probe(f"p{i}", sleep_s=0.05) for i in range(6)]
    edges = [edge("start", f"p{i}") for i in range(6)]
    plan, p = probe_plan(flow(nodes, edges))
    await run(plan, concurrency=3)
    assert p.max_running == 3
    plan, p = probe_plan(flow(nodes, edges))
    await run(plan, concurrency=1)
    assert p.max_running == 1


async def test_a_cycle_without_a_bound_ends_with_loop_limit() -> None:
    doc = flow(
        [node("start", "start"), set_node("a"), set_node("b", max_visits=5)],
        [edge("start", "a"), edge("a", "b"), edge("b", "a")],
    )
    doc["nodes"][2]["max_visits"] = 5
    doc["nodes"][2]["config"] = {"values": {}}
    result = await run(doc)
    assert result.status == "failed"
    assert result.result.error is not None
    assert result.result.error["type"] == "loop_limit"
    assert result.result.error["node_id"] == "b"
    assert result.ran("b") == 5


async def test_default_max_visits_is_100() -> None:
    doc = flow([node("start", "start"), set_node("a")], [edge("start", "a"), edge("a", "a")])
    result = await run(doc)
    assert result.result.error is not None
    assert result.result.error["type"] == "loop_limit"
    assert result.ran("a") == 100


async def test_a_join_after_a_loop_waits_for_the_loop_exit() -> None:
    doc = flow(
        [
            node("start", "start"),
            set_node("count", n="{{ (nodes.count.output.n if nodes.count else 0) + 1 }}"),
            node("enough", "condition", config={"expression": "{{ nodes.count.output.n >= 4 }}"}),
            set_node("side", s=1),
            node("j", "merge"),
            ret(
                "r",
                {"n": "{{ nodes.count.output.n }}", "joined": "{{ nodes.j.output | list | sort }}"},
            ),
        ],
        [
            edge("start", "count"),
            edge("start", "side"),
            edge("count", "enough"),
            edge("enough", "count", "false"),
            edge("enough", "j", "true"),
            edge("side", "j"),
            edge("j", "r"),
        ],
    )
    result = await run(doc)
    assert result.output == {"n": 4, "joined": ["enough", "side"]}
    assert result.ran("j") == 1


async def test_a_loop_exit_that_is_never_taken_dies_and_the_join_is_skipped() -> None:
    doc = flow(
        [
            node("start", "start"),
            set_node(
                "count", n="{{ (nodes.count.output.n if nodes.count else 0) + 1 }}", max_visits=3
            ),
            node("again", "condition", config={"expression": "{{ nodes.count.output.n < 3 }}"}),
            set_node("after"),
        ],
        [
            edge("start", "count"),
            edge("count", "again"),
            edge("again", "count", "true"),
            edge("again", "after", "true"),
        ],
    )
    doc["nodes"][1] = set_node("count", n="{{ (nodes.count.output.n if nodes.count else 0) + 1 }}")
    result = await run(doc)
    assert result.status == "succeeded"
    assert result.ran("count") == 3
    assert result.steps("after")[-1]["status"] == "skipped"


async def test_merge_outputs_taken_sources_only() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("c", "condition", config={"expression": "{{ true }}"}),
            set_node("x", v="x"),
            set_node("y", v="y"),
            set_node("z", v="z"),
            node("m", "merge"),
            ret("r", "{{ nodes.m.output }}"),
        ],
        [
            edge("start", "c"),
            edge("c", "x", "true"),
            edge("c", "y", "false"),
            edge("start", "z"),
            edge("x", "m"),
            edge("y", "m"),
            edge("z", "m"),
            edge("m", "r"),
        ],
    )
    assert (await run(doc)).output == {"x": {"v": "x"}, "z": {"v": "z"}}


async def test_first_return_ends_the_execution_and_cancels_the_rest() -> None:
    doc = flow(
        [
            node("start", "start"),
            probe("slow", sleep_s=30),
            probe("quick", sleep_s=0.05),
            ret("r", "fast"),
        ],
        [edge("start", "slow"), edge("start", "quick"), edge("quick", "r")],
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.status == "succeeded"
    assert result.output == "fast"
    assert p.cancelled == ["slow"]
    assert [s["status"] for s in result.steps("slow")] == ["cancelled"]


async def test_without_return_the_output_is_null() -> None:
    result = await run(flow([node("start", "start"), set_node("a", v=1)], [edge("start", "a")]))
    assert result.status == "succeeded"
    assert result.output is None


class TestForeach:
    def doc(
        self, body: list[dict[str, object]], body_edges: list[dict[str, str]], **config: object
    ) -> dict[str, Any]:
        return flow(
            [
                node("start", "start"),
                node("each", "foreach", config={"items": "{{ input.xs }}", **config}),
                *body,
                ret("r", "{{ nodes.each.output.results }}"),
            ],
            [edge("start", "each"), edge("each", "r", "done"), *body_edges],
        )

    async def test_item_and_loop_are_in_scope(self) -> None:
        doc = self.doc(
            [set_node("b", i="{{ loop.index }}", n="{{ loop.length }}", item="{{ item }}")],
            [edge("each", "b", "each")],
        )
        result = await run(doc, {"xs": ["a", "b"]})
        assert result.output == [{"i": 0, "n": 2, "item": "a"}, {"i": 1, "n": 2, "item": "b"}]

    async def test_parallel_iterations_keep_item_order(self) -> None:
        doc = self.doc(
            [probe("b", sleep_s="{{ 0.05 - item * 0.01 }}", output="{{ item }}")],
            [edge("each", "b", "each")],
            parallelism=4,
        )
        plan, p = probe_plan(doc)
        result = await run(plan, {"xs": [0, 1, 2, 3, 4]})
        assert result.output == [0, 1, 2, 3, 4]
        assert p.max_running == 4

    async def test_several_end_nodes_give_a_mapping(self) -> None:
        doc = self.doc(
            [set_node("a", v="{{ item }}"), set_node("b", w="{{ item }}")],
            [edge("each", "a", "each"), edge("each", "b", "each")],
        )
        result = await run(doc, {"xs": [1]})
        assert result.output == [{"a": {"v": 1}, "b": {"w": 1}}]

    async def test_body_nodes_see_their_own_iteration_outputs(self) -> None:
        doc = self.doc(
            [set_node("a", v="{{ item * 10 }}"), set_node("b", w="{{ nodes.a.output.v + 1 }}")],
            [edge("each", "a", "each"), edge("a", "b")],
        )
        result = await run(doc, {"xs": [1, 2]})
        assert result.output == [{"w": 11}, {"w": 21}]

    async def test_empty_list_gives_no_results(self) -> None:
        doc = self.doc([set_node("b")], [edge("each", "b", "each")])
        doc["nodes"][2]["config"] = {"values": {}}
        result = await run(doc, {"xs": []})
        assert result.output == []

    async def test_nested_foreach(self) -> None:
        doc = flow(
            [
                node("start", "start"),
                node("outer", "foreach", config={"items": "{{ input.rows }}"}),
                node("inner", "foreach", config={"items": "{{ item }}"}),
                set_node("cell", v="{{ item * 2 }}"),
                set_node("row", vs="{{ nodes.inner.output.results | map(attribute='v') | list }}"),
                ret("r", "{{ nodes.outer.output.results | map(attribute='vs') | list }}"),
            ],
            [
                edge("start", "outer"),
                edge("outer", "inner", "each"),
                edge("inner", "cell", "each"),
                edge("inner", "row", "done"),
                edge("outer", "r", "done"),
            ],
        )
        result = await run(doc, {"rows": [[1, 2], [3]]})
        assert result.output == [[2, 4], [6]]

    async def test_a_body_failure_fails_the_foreach_and_cancels_the_rest(self) -> None:
        doc = flow(
            [
                node("start", "start"),
                node("each", "foreach", config={"items": "{{ input.xs }}", "parallelism": 2}),
                probe("b", sleep_s="{{ item }}", fail_times="{{ 1 if item == 0 else 0 }}"),
                set_node("handled", e="{{ error.message }}"),
            ],
            [edge("start", "each"), edge("each", "b", "each"), edge("each", "handled", "error")],
        )
        plan, p = probe_plan(doc)
        result = await run(plan, {"xs": [0, 30, 30, 30]})
        assert result.status == "succeeded"
        assert p.cancelled == ["b"]
        assert p.calls["b"] == 2  # the failing one and the one beside it; the rest never began
        (each,) = result.steps("each")
        assert each["status"] == "failed"
        assert each["error"]["type"] == "code"
        assert result.steps("handled")[0]["output"] == {"e": "probe failure 1"}

    async def test_items_that_are_not_a_list_fail_with_config(self) -> None:
        doc = self.doc([set_node("b", v=1)], [edge("each", "b", "each")])
        result = await run(doc, {"xs": "abc"})
        assert result.result.error is not None
        assert result.result.error["type"] == "config"

    async def test_foreach_outside_an_executor_refuses(self) -> None:
        from flomation.engine.nodes.base import ConfigError

        with pytest.raises(ConfigError):
            # No context on purpose: the node is run outside any executor.
            await ForeachNode().run(None)  # type: ignore[arg-type]


async def test_a_loop_with_parallel_branches_joins_once_per_visit() -> None:
    doc = flow(
        [
            node("start", "start"),
            set_node("count", n="{{ (nodes.count.output.n if nodes.count else 0) + 1 }}"),
            probe("slow", sleep_s=0.02),
            probe("fast"),
            node("j", "merge"),
            node("again", "condition", config={"expression": "{{ nodes.count.output.n < 3 }}"}),
            ret("r", {"n": "{{ nodes.count.output.n }}"}),
        ],
        [
            edge("start", "count"),
            edge("count", "slow"),
            edge("count", "fast"),
            edge("slow", "j"),
            edge("fast", "j"),
            edge("j", "again"),
            edge("again", "count", "true"),
            edge("again", "r", "false"),
        ],
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.output == {"n": 3}
    assert [s["visit"] for s in result.steps("j")] == [1, 2, 3]
    assert p.calls == {"slow": 3, "fast": 3}


async def test_a_back_edge_taken_while_its_region_still_runs_waits_for_it() -> None:
    # `count` loops back from `quick` while `slow`, also in the loop region, still runs:
    # the new visit starts only after `slow` ended.
    doc = flow(
        [
            node("start", "start"),
            set_node("count", n="{{ (nodes.count.output.n if nodes.count else 0) + 1 }}"),
            probe("slow", sleep_s=0.05),
            node("quick", "condition", config={"expression": "{{ nodes.count.output.n < 2 }}"}),
        ],
        [
            edge("start", "count"),
            edge("count", "slow"),
            edge("count", "quick"),
            edge("quick", "count", "true"),
        ],
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.status == "succeeded"
    order: list[tuple[str, Any]] = [
        (e.kind, e.data["node_id"])
        for e in result.events
        if e.kind in ("node.started", "node.succeeded")
    ]
    second_count = [i for i, item in enumerate(order) if item == ("node.started", "count")][1]
    first_slow_end = order.index(("node.succeeded", "slow"))
    assert first_slow_end < second_count
    assert p.calls["slow"] == 2
