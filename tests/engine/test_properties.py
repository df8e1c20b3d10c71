"""Property-based tests on random valid graphs: the executor's invariants always hold."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flomation.engine.validation import validate_definition
from tests.engine.flows import Run, edge, flow, node, run

MAX_VISITS = 3
END_KINDS = {"node.succeeded", "node.failed", "node.cancelled"}


@st.composite
def graphs(draw: st.DrawFn, *, loops: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """A random flow of set/condition/merge/log nodes; forward edges only go to later nodes,
    back-edges (when `loops`) only from conditions to earlier nodes."""
    count = draw(st.integers(min_value=1, max_value=10))
    kinds = draw(
        st.lists(
            st.sampled_from(["set", "condition", "merge", "log"]), min_size=count, max_size=count
        )
    )
    bits = draw(st.lists(st.booleans(), min_size=count + 1, max_size=count + 1))
    nodes = [node("start", "start")]
    ids = ["start"]
    for i, kind in enumerate(kinds):
        node_id = f"n{i}"
        config: dict[str, Any] = {}
        if kind == "set":
            config = {"values": {"i": i}}
        elif kind == "condition":
            config = {"expression": f"{{{{ input.bits[{i}] }}}}"}
        elif kind == "log":
            config = {"message": f"n{i}"}
        nodes.append(node(node_id, kind, config=config, max_visits=MAX_VISITS))
        ids.append(node_id)
    kind_of = {"start": "start", **{f"n{i}": k for i, k in enumerate(kinds)}}
    edges = []
    for target_index in range(1, len(ids)):
        sources = draw(
            st.lists(
                st.integers(min_value=0, max_value=target_index - 1),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        for source_index in sources:
            source = ids[source_index]
            port = "success"
            if kind_of[source] == "condition":
                port = draw(st.sampled_from(["true", "false"]))
            edges.append(edge(source, ids[target_index], port))
    if loops:
        conditions = [n for n in ids if kind_of[n] == "condition"]
        for source in (
            draw(st.lists(st.sampled_from(conditions), max_size=2, unique=True))
            if conditions
            else []
        ):
            target = draw(st.sampled_from(ids[1 : ids.index(source) + 1]))
            edges.append(edge(source, target, draw(st.sampled_from(["true", "false"]))))
    doc = flow(nodes, edges)
    return doc, {"bits": bits}


def unique_edges(doc: dict[str, Any]) -> dict[str, Any]:
    seen = set()
    kept = []
    for e in doc["edges"]:
        key = (e["from"], e["to"], e["port"])
        if key not in seen:
            seen.add(key)
            kept.append(e)
    return {**doc, "edges": kept}


async def execute(doc: dict[str, Any], input_value: dict[str, Any]) -> Run:
    assert validate_definition(doc).valid, validate_definition(doc).errors
    return await asyncio.wait_for(run(doc, input_value), timeout=20)


def check_common_invariants(result: Run) -> None:
    assert result.status in {"succeeded", "failed"}
    assert result.events[-1].kind == "execution.finished"
    started = Counter(e.data["step"] for e in result.events if e.kind == "node.started")
    ended = Counter(e.data["step"] for e in result.events if e.kind in END_KINDS)
    assert started == ended
    assert all(n == 1 for n in started.values())
    scope_of_step = {
        e.data["step"]: (e.data["iteration"], e.data["parent_step"])
        for e in result.events
        if e.kind == "node.started"
    }
    # Visits count within one iteration: key each run by node and the iteration it ran in.
    runs = Counter(
        (e.data["node_id"], scope_of_step[e.data["step"]])
        for e in result.events
        if e.kind == "node.succeeded"
    )
    assert all(n <= MAX_VISITS for (node_id, _), n in runs.items() if node_id != "start")
    if result.status == "failed":
        assert result.result.error is not None
        assert result.result.error["type"] == "loop_limit"


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(graphs(loops=False))
async def test_on_acyclic_graphs_every_node_resolves_once_after_its_predecessors(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc, input_value = case
    doc = unique_edges(doc)
    result = await execute(doc, input_value)
    check_common_invariants(result)
    assert result.status == "succeeded"
    decided: dict[str, int] = {}
    for event in result.events:
        if event.kind in ("node.started", "node.skipped"):
            assert event.data["node_id"] not in decided, "a node ran or was skipped twice"
            decided[event.data["node_id"]] = event.seq
    assert set(decided) == {n["id"] for n in doc["nodes"]}
    resolved = {
        e.data["node_id"]: e.seq
        for e in result.events
        if e.kind in ("node.succeeded", "node.skipped", "node.failed")
    }
    for e in doc["edges"]:
        assert resolved[e["from"]] < decided[e["to"]], f"{e['to']} decided before {e['from']} ended"


@SETTINGS
@given(graphs(loops=True))
async def test_on_graphs_with_loops_the_execution_ends_within_max_visits(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc, input_value = case
    doc = unique_edges(doc)
    check_common_invariants(await execute(doc, input_value))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
NODE_TYPES = st.sampled_from(
    [
        "start",
        "set",
        "condition",
        "switch",
        "foreach",
        "merge",
        "delay",
        "fail",
        "return",
        "log",
        "subflow",
        "on_error",
        "nope",
    ]
)


@st.composite
def documents(draw: st.DrawFn) -> Any:
    ids = draw(st.lists(st.sampled_from(["start", "a", "b", "c", "d", "Bad"]), max_size=6))
    nodes = [
        {
            "id": i,
            "type": draw(NODE_TYPES),
            "config": draw(
                st.dictionaries(
                    st.sampled_from(
                        [
                            "values",
                            "expression",
                            "items",
                            "value",
                            "cases",
                            "message",
                            "seconds",
                            "flow",
                        ]
                    ),
                    JSON | st.sampled_from(["{{ x }}", "{{ x", "{% for %}", "{{ vars[x] }}"]),
                    max_size=3,
                )
            ),
        }
        for i in ids
    ]
    edges = (
        [
            {
                "from": draw(st.sampled_from([*ids, "zz"])),
                "to": draw(st.sampled_from([*ids, "zz"])),
                "port": draw(st.sampled_from(["success", "error", "true", "each", "done", "x"])),
            }
            for _ in range(draw(st.integers(0, 6)))
        ]
        if ids
        else []
    )
    return draw(
        st.sampled_from(
            [
                {"version": 1, "nodes": nodes, "edges": edges},
                {"version": 1, "nodes": nodes},
                {"nodes": nodes, "edges": edges, "version": draw(JSON)},
            ]
        )
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(JSON, documents()))
def test_validation_never_crashes_and_always_says_where(doc: Any) -> None:
    report = validate_definition(doc)
    for problem in report.errors + report.warnings:
        assert isinstance(problem["loc"], list)
        assert isinstance(problem["msg"], str)
        assert problem["msg"]


@st.composite
def foreach_flows(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A foreach whose body is a random DAG of set/condition/merge nodes."""
    count = draw(st.integers(min_value=1, max_value=6))
    kinds = draw(
        st.lists(st.sampled_from(["set", "condition", "merge"]), min_size=count, max_size=count)
    )
    nodes = [
        node("start", "start"),
        node(
            "each",
            "foreach",
            config={"items": "{{ input.items }}", "parallelism": draw(st.integers(1, 4))},
        ),
        node("out", "return", config={"value": "{{ nodes.each.output.results | length }}"}),
    ]
    edges = [edge("start", "each"), edge("each", "out", "done"), edge("each", "b0", "each")]
    for i, kind in enumerate(kinds):
        config: dict[str, Any] = {"values": {"i": "{{ item }}"}} if kind == "set" else {}
        if kind == "condition":
            config = {"expression": "{{ item % 2 == 0 }}"}
        nodes.append(node(f"b{i}", kind, config=config))
        if i:
            for source in draw(
                st.lists(st.integers(0, i - 1), min_size=1, max_size=2, unique=True)
            ):
                port = (
                    draw(st.sampled_from(["true", "false"]))
                    if kinds[source] == "condition"
                    else "success"
                )
                edges.append(edge(f"b{source}", f"b{i}", port))
    items = draw(st.lists(st.integers(0, 9), max_size=6))
    return unique_edges(flow(nodes, edges)), {"items": items}


@settings(max_examples=30, deadline=None)
@given(foreach_flows())
async def test_foreach_bodies_resolve_every_node_once_per_iteration(
    case: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc, input_value = case
    result = await execute(doc, input_value)
    check_common_invariants(result)
    assert result.output == len(input_value["items"])
    body = [n["id"] for n in doc["nodes"] if n["id"].startswith("b")]
    decided = Counter(
        (e.data["node_id"], e.data["iteration"])
        for e in result.events
        if e.kind in ("node.started", "node.skipped") and e.data["node_id"] in body
    )
    expected = {(n, i) for n in body for i in range(len(input_value["items"]))}
    assert set(decided) == expected
    assert all(count == 1 for count in decided.values())
