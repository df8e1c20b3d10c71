"""Values that cannot become JSON, handed to the engine by a node type directly (not through a
template): the node that made them fails with a clear error, its error port and the
execution's error handling still run, and every event the execution emits is strict JSON.

Issue 25: such a value in an event used to reach the runner's shared report batch and stop
the runner.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest

from flomation.engine.events import json_problem, json_safe, to_json_bytes
from flomation.engine.expressions import FlowUndefined
from flomation.engine.nodes.base import NodeContext, NodeOutcome, NodeType
from flomation.engine.nodes.registry import BUILTIN_TYPES, NodeRegistry
from flomation.engine.plan import FlowPlan
from tests.engine.flows import edge, flow, node, ret, run

# What the odd node types below give back, by name.
ODD: dict[str, Any] = {
    "undefined": {"v": [FlowUndefined()]},
    "lone-surrogate": {"v": "\ud800"},
    "nan": {"v": math.nan},
    "mixed-keys": {1: "a", "b": 2},
    "bytes": {"v": b"raw"},
    "huge-int": {"v": 10**5000},
}


class OddOutput(NodeType):
    """Returns the value named by its config, whatever it is."""

    type = "odd_output"
    title = "Odd output"
    description = "Returns a value that is not JSON (tests)."
    group = "test"
    pure = True
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"kind": {"type": "string"}},
        "required": ["kind"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        return NodeOutcome(ODD[ctx.config["kind"]])


class OddLog(NodeType):
    """Logs an object whose `str` fails, then succeeds."""

    type = "odd_log"
    title = "Odd log"
    description = "Logs something that cannot be shown (tests)."
    group = "test"
    pure = True
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        # Not a str on purpose: a message that cannot be shown as text.
        ctx.log("info", FlowUndefined())  # type: ignore[arg-type]
        ctx.log("info", "x" * 1_000_000)
        return NodeOutcome({"ok": True})


def plan(doc: dict[str, Any]) -> FlowPlan:
    registry = NodeRegistry(BUILTIN_TYPES)
    registry.add(OddOutput)
    registry.add(OddLog)
    return FlowPlan.from_document(doc, registry)


@pytest.mark.parametrize("kind", list(ODD))
async def test_a_node_output_that_is_not_json_fails_that_node_with_a_clear_error(
    kind: str,
) -> None:
    doc = flow(
        [node("start", "start"), node("odd", "odd_output", config={"kind": kind})],
        [edge("start", "odd")],
    )
    result = await run(plan(doc))
    assert result.status == "failed"
    error = result.result.error
    assert error is not None
    assert error["node_id"] == "odd"
    assert error["type"] == "internal"
    assert "not JSON" in error["message"]
    assert "output" in error["message"]
    for event in result.events:
        to_json_bytes(event.to_dict())  # every event is strict JSON


async def test_the_error_port_handles_a_node_whose_output_is_not_json() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("odd", "odd_output", config={"kind": "undefined"}),
            ret("handled", "{{ error.message }}"),
        ],
        [edge("start", "odd"), edge("odd", "handled", "error")],
    )
    result = await run(plan(doc))
    assert result.status == "succeeded"
    assert "undefined value" in result.output


async def test_log_lines_that_cannot_be_shown_or_are_huge_become_safe_text() -> None:
    doc = flow([node("start", "start"), node("noisy", "odd_log")], [edge("start", "noisy")])
    result = await run(plan(doc))
    assert result.status == "succeeded"
    [unshowable, huge] = result.document["logs"]
    assert "could not be shown" in unshowable["message"]
    assert len(huge["message"]) < 100_000
    for event in result.events:
        to_json_bytes(event.to_dict())


@pytest.mark.parametrize("kind", list(ODD))
def test_json_problem_says_where_and_json_safe_always_encodes(kind: str) -> None:
    value = {"outer": [ODD[kind]]}
    problem = json_problem(value)
    assert problem is not None
    assert problem.startswith("$.outer[0]")
    to_json_bytes(json_safe(value))
    assert json_problem({"fine": [1, 2.5, "ü", None, True, {"k": ()}]}) is None
