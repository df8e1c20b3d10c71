"""The engine's events against the protocol's union: what the engine emits is accepted as it
is and comes back unchanged; a wrong kind or a missing field is refused, saying where."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from flomation.engine.events import ExecutionEvent, ListSink
from flomation.engine.executor import Executor
from flomation.engine.nodes.base import EngineServices
from flomation.engine.plan import FlowPlan
from flomation.protocol import EVENT, EVENTS, EventKind, LogLine, NodeStarted, describe

AT = "2026-01-01T00:00:00Z"
FLOW = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "say", "type": "log", "config": {"message": "n is {{ input.n }}"}},
        {"id": "out", "type": "return", "config": {"value": "{{ input.n * 2 }}"}},
    ],
    "edges": [{"from": "start", "to": "say"}, {"from": "say", "to": "out"}],
}


async def _engine_events() -> list[ExecutionEvent]:
    sink = ListSink()
    executor = Executor(FlowPlan.from_document(FLOW), services=EngineServices(), sink=sink)
    result = await executor.run({"n": 21})
    assert result.status == "succeeded"
    return sink.events


async def test_every_event_the_engine_emits_is_one_of_the_union_and_round_trips() -> None:
    events = await _engine_events()
    wire = [json.loads(json.dumps(event.to_dict())) for event in events]

    checked = EVENTS.validate_python(wire)

    assert [event.kind for event in checked] == [event.kind for event in events]
    assert {event.kind for event in checked} >= {
        EventKind.EXECUTION_STARTED,
        EventKind.NODE_STARTED,
        EventKind.NODE_SUCCEEDED,
        EventKind.LOG,
        EventKind.EXECUTION_FINISHED,
    }
    # What the engine sent, no more (no defaults filled in) and no less.
    dumped = [event.model_dump(mode="json", exclude_unset=True) for event in checked]
    assert dumped == [{**item, "at": item["at"]} for item in wire]
    again = [ExecutionEvent.from_dict(item) for item in wire]
    assert [(e.seq, e.kind, e.data) for e in again] == [(e.seq, e.kind, e.data) for e in events]


def test_json_round_trip_of_each_model() -> None:
    line = LogLine(seq=3, kind=EventKind.LOG, at=AT, node_id="say", level="info", message="hi")
    assert EVENT.validate_json(line.model_dump_json()) == line
    started = EVENT.validate_python(
        {"seq": 1, "kind": "node.started", "at": AT, "step": 1, "node_id": "a", "visit": 1,
         "iteration": None, "parent_step": None, "attempt": 1, "input": {"x": [1, 2]}}
    )  # fmt: skip
    assert isinstance(started, NodeStarted)
    assert EVENT.validate_json(started.model_dump_json()) == started


def _refusal(value: Any) -> str:
    with pytest.raises(ValidationError) as refused:
        EVENTS.validate_python([value])
    return describe(refused.value)


def test_a_wrong_kind_is_refused_naming_the_kind() -> None:
    why = _refusal({"seq": 1, "kind": "node.begun", "at": AT, "step": 1, "node_id": "a"})
    assert why.startswith("0: ")
    assert "'node.begun'" in why
    assert "node.started" in why  # the kinds it could have been


def test_a_missing_field_is_refused_saying_where() -> None:
    why = _refusal({"seq": 1, "kind": "node.succeeded", "at": AT, "node_id": "a", "port": "ok"})
    assert "0.node.succeeded.step: Field required" in why
    assert "0.node.succeeded.attempts: Field required" in why


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("step", True, "step"),  # a bool is not a step number
        ("step", "1", "step"),
        ("visit", 1.5, "visit"),
        ("at", "2026-01-01T00:00:00", "at"),  # no timezone
    ],
)
def test_fields_of_the_wrong_type_are_refused(field: str, value: Any, where: str) -> None:
    event = {"seq": 1, "kind": "node.skipped", "at": AT, "step": 1, "node_id": "a", "visit": 1,
             "iteration": None, "parent_step": None}  # fmt: skip
    why = _refusal({**event, field: value})
    assert f"0.node.skipped.{where}:" in why


def test_an_unknown_field_is_refused() -> None:
    why = _refusal({"seq": 1, "kind": "log", "at": AT, "node_id": None, "level": "info",
                    "message": "hi", "colour": "red"})  # fmt: skip
    assert "0.log.colour: Extra inputs are not permitted" in why
