"""Helpers for engine tests: build definitions tersely and run them with every event kept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flomation.engine.events import ExecutionEvent, ExecutionRecorder, ListSink, MultiSink
from flomation.engine.executor import ExecutionResult, Executor
from flomation.engine.plan import FlowPlan


def node(node_id: str, node_type: str, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, **fields}


def edge(source: str, target: str, port: str = "success") -> dict[str, Any]:
    return {"from": source, "to": target, "port": port}


def flow(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **settings: Any
) -> dict[str, Any]:
    return {"version": 1, "nodes": nodes, "edges": edges, **settings}


def set_node(node_id: str, **values: Any) -> dict[str, Any]:
    return node(node_id, "set", config={"values": values})


def ret(node_id: str, value: Any) -> dict[str, Any]:
    return node(node_id, "return", config={"value": value})


@dataclass
class Run:
    result: ExecutionResult
    document: dict[str, Any]
    events: list[ExecutionEvent]

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def output(self) -> Any:
        return self.result.output

    def steps(self, node_id: str) -> list[dict[str, Any]]:
        return [s for s in self.document["steps"] if s["node_id"] == node_id]

    def ran(self, node_id: str) -> int:
        return sum(1 for s in self.steps(node_id) if s["status"] == "succeeded")

    def kinds(self, node_id: str | None = None) -> list[str]:
        return [e.kind for e in self.events if node_id is None or e.data.get("node_id") == node_id]


async def run(doc: dict[str, Any] | FlowPlan, input: Any = None, **options: Any) -> Run:
    plan = doc if isinstance(doc, FlowPlan) else FlowPlan.from_document(doc)
    recorder = ExecutionRecorder()
    events = ListSink()
    executor = Executor(plan, sink=MultiSink(recorder, events), **options)
    result = await executor.run(input)
    return Run(result, recorder.document(), events.events)


# The examples of the flow format (docs/flow-format.md), verbatim.
ECHO = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "double",
            "type": "set",
            "config": {"values": {"m": "{{ input.n * 2 }}", "tag": "ok"}},
        },
        {
            "id": "out",
            "type": "return",
            "config": {
                "value": {
                    "m": "{{ nodes.double.output.m }}",
                    "tag": "{{ nodes.double.output.tag }}",
                }
            },
        },
    ],
    "edges": [{"from": "start", "to": "double"}, {"from": "double", "to": "out"}],
}

IF_ELSE = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "big", "type": "condition", "config": {"expression": "{{ input.n > 10 }}"}},
        {"id": "yes", "type": "set", "config": {"values": {"size": "big"}}},
        {"id": "no", "type": "set", "config": {"values": {"size": "small"}}},
        {"id": "join", "type": "merge"},
        {
            "id": "out",
            "type": "return",
            "config": {"value": {"size": "{{ (nodes.yes.output or nodes.no.output).size }}"}},
        },
    ],
    "edges": [
        {"from": "start", "to": "big"},
        {"from": "big", "to": "yes", "port": "true"},
        {"from": "big", "to": "no", "port": "false"},
        {"from": "yes", "to": "join"},
        {"from": "no", "to": "join"},
        {"from": "join", "to": "out"},
    ],
}

ERROR_PORT = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "call",
            "type": "http",
            "config": {"url": "http://127.0.0.1:9/unreachable"},
            "retry": {"max_attempts": 2, "delay_s": 0.01},
        },
        {
            "id": "fallback",
            "type": "return",
            "config": {"value": {"recovered": True, "attempts": "{{ error.attempt }}"}},
        },
    ],
    "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "fallback", "port": "error"}],
}

FOREACH = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "each", "type": "foreach", "config": {"items": "{{ input.xs }}"}},
        {"id": "sq", "type": "set", "config": {"values": {"v": "{{ item * item }}"}}},
        {
            "id": "out",
            "type": "return",
            "config": {
                "value": {"squares": "{{ nodes.each.output.results | map(attribute='v') | list }}"}
            },
        },
    ],
    "edges": [
        {"from": "start", "to": "each"},
        {"from": "each", "to": "sq", "port": "each"},
        {"from": "each", "to": "out", "port": "done"},
    ],
}

RETRY_LOOP = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "count",
            "type": "set",
            "config": {"values": {"n": "{{ (nodes.count.output.n if nodes.count else 0) + 1 }}"}},
        },
        {
            "id": "enough",
            "type": "condition",
            "config": {"expression": "{{ nodes.count.output.n >= 3 }}"},
        },
        {
            "id": "out",
            "type": "return",
            "config": {"value": {"tries": "{{ nodes.count.output.n }}"}},
        },
    ],
    "edges": [
        {"from": "start", "to": "count"},
        {"from": "count", "to": "enough"},
        {"from": "enough", "to": "out", "port": "true"},
        {"from": "enough", "to": "count", "port": "false"},
    ],
}
