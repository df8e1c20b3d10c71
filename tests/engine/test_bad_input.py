"""Bad input ends with a clear typed error: never a crash, a hang or a leak."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from flomation.engine.plan import FlowPlan
from flomation.engine.validation import InvalidDefinitionError, validate_definition
from tests.engine.flows import ECHO, edge, flow, node, ret, run, set_node


def chain(length: int) -> dict[str, Any]:
    nodes = [node("start", "start")]
    edges = []
    previous = "start"
    for i in range(length):
        nodes.append(set_node(f"n{i}", v="{{ 1 + 1 }}", i=i))
        edges.append(edge(previous, f"n{i}"))
        previous = f"n{i}"
    nodes.append(ret("out", {"last": f"{{{{ nodes.n{length - 1}.output.i }}}}"}))
    edges.append(edge(previous, "out"))
    return flow(nodes, edges)


async def test_a_10000_node_definition_validates_and_runs() -> None:
    doc = chain(10_000)
    assert validate_definition(doc).valid
    result = await run(doc)
    assert result.status == "succeeded"
    assert result.output == {"last": 9_999}


async def test_a_cycle_without_a_bound_ends_with_loop_limit() -> None:
    doc = flow(
        [node("start", "start"), set_node("a", v=1), set_node("b", v=2)],
        [edge("start", "a"), edge("a", "b"), edge("b", "a")],
    )
    result = await asyncio.wait_for(run(doc), 10)
    assert result.status == "failed"
    assert result.result.error is not None
    assert result.result.error["type"] == "loop_limit"


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": [value]}
    return value


@pytest.mark.parametrize("secrets", [{}, {"S": "leaf-secret"}])
async def test_deeply_nested_input_is_carried_and_shown_safely(secrets: dict[str, str]) -> None:
    doc = flow(
        [
            node("start", "start"),
            set_node("copy", v="{{ input }}"),
            ret("out", "{{ nodes.copy.output.v }}"),
        ],
        [edge("start", "copy"), edge("copy", "out")],
    )
    deep = nested(5_000)
    result = await run(doc, deep, secrets=secrets)
    assert result.status == "succeeded"
    assert result.output is deep  # passed whole between nodes
    assert isinstance(result.document["steps"][1]["output"], dict | str)


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' * 10**9 }}",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{{ 9 ** 999999 }}",
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    ],
)
async def test_template_bombs_fail_the_node_with_a_template_error(template: str) -> None:
    doc = flow([node("start", "start"), set_node("bomb", v=template)], [edge("start", "bomb")])
    started = time.monotonic()
    result = await run(doc)
    assert time.monotonic() - started < 10
    assert result.status == "failed"
    assert result.result.error is not None
    assert result.result.error["type"] == "template"
    assert result.result.error["node_id"] == "bomb"
    assert result.result.error["message"].startswith("values.v: ")


def test_an_invalid_definition_cannot_be_planned() -> None:
    with pytest.raises(InvalidDefinitionError) as info:
        FlowPlan.from_document({"version": 1, "nodes": [node("a", "set")], "edges": []})
    assert "exactly one start" in str(info.value)
    assert info.value.report.errors


@pytest.mark.parametrize("value", [None, 1, "x", [1], {"n": None}, {"n": [1]}])
async def test_odd_inputs_fail_typed_not_crash(value: Any) -> None:
    result = await run(ECHO, value)
    assert result.status in {"succeeded", "failed"}
    if result.status == "failed":
        assert result.result.error is not None
        assert result.result.error["type"] == "template"
