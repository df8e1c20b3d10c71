"""Events, the recorder, masking in events, cancellation, and retry from a node."""

from __future__ import annotations

import asyncio
import base64

import pytest

from flomation.engine.events import ExecutionRecorder, ListSink, MultiSink
from flomation.engine.executor import Executor, InvalidRetryError, PriorStep
from flomation.engine.plan import FlowPlan
from tests.engine.flows import ECHO, edge, flow, node, ret, run, set_node
from tests.engine.probes import probe_plan


async def test_events_are_ordered_with_increasing_seq() -> None:
    result = await run(ECHO, {"n": 1})
    assert [e.seq for e in result.events] == list(range(1, len(result.events) + 1))
    assert result.events[0].kind == "execution.started"
    assert result.events[-1].kind == "execution.finished"
    assert result.kinds("double") == ["node.started", "node.succeeded"]
    started = next(
        e for e in result.events if e.kind == "node.started" and e.data["node_id"] == "double"
    )
    assert started.data["input"] == {"values": {"m": 2, "tag": "ok"}}


async def test_recorder_builds_the_execution_document() -> None:
    result = await run(ECHO, {"n": 2})
    doc = result.document
    assert doc["status"] == "succeeded"
    assert doc["input"] == {"n": 2}
    assert doc["output"] == {"m": 4, "tag": "ok"}
    assert doc["started_at"] <= doc["finished_at"]
    step = doc["steps"][1]
    assert {k: step[k] for k in ("node_id", "status", "visit", "iteration", "attempts")} == {
        "node_id": "double",
        "status": "succeeded",
        "visit": 1,
        "iteration": None,
        "attempts": 1,
    }
    assert step["input"] == {"values": {"m": 4, "tag": "ok"}}
    assert step["output"] == {"m": 4, "tag": "ok"}
    assert step["started_at"]
    assert step["finished_at"]


async def test_log_lines_reach_the_logs() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("l", "log", config={"message": "hi {{ input.who }}", "level": "warning"}),
        ],
        [edge("start", "l")],
    )
    result = await run(doc, {"who": "there"})
    (line,) = result.document["logs"]
    assert {k: line[k] for k in ("node_id", "level", "message")} == {
        "node_id": "l",
        "level": "warning",
        "message": "hi there",
    }
    assert result.steps("l")[0]["output"] == {"message": "hi there"}


async def test_secrets_are_masked_in_events_but_not_between_nodes() -> None:
    secret = "hunter2-very-secret"
    doc = flow(
        [
            node("start", "start"),
            set_node("a", token="{{ secrets.TOKEN }}", basic="{{ ('me:' ~ secrets.TOKEN) | b64 }}"),
            node("l", "log", config={"message": "token={{ nodes.a.output.token }}"}),
            set_node("b", same="{{ nodes.a.output.token == secrets.TOKEN }}"),
            node("f", "fail", config={"message": "failed with {{ secrets.TOKEN }}"}),
        ],
        [edge("start", "a"), edge("a", "l"), edge("l", "b"), edge("b", "f")],
    )
    doc["nodes"][1]["config"]["values"].pop("basic")
    result = await run(doc, {"echo": secret}, secrets={"TOKEN": secret})
    text = repr([e.to_dict() for e in result.events])
    assert secret not in text
    assert base64.b64encode(secret.encode()).decode()[:12] not in text
    assert result.steps("b")[0]["output"] == {"same": True}
    assert result.steps("a")[0]["output"] == {"token": "***"}
    assert result.document["logs"][0]["message"] == "token=***"
    assert result.document["input"] == {"echo": "***"}
    assert result.document["error"]["message"] == "failed with ***"


async def test_large_outputs_are_truncated_in_events_only() -> None:
    doc = flow(
        [
            node("start", "start"),
            set_node("big", s="{{ 'x' * 5000 }}"),
            ret("r", "{{ nodes.big.output.s | length }}"),
        ],
        [edge("start", "big"), edge("big", "r")],
    )
    result = await run(doc, event_value_limit=1000)
    (step,) = result.steps("big")
    assert step["output_truncated"] is True
    assert len(step["output"]) == 1000
    assert result.output == 5000


async def test_each_started_step_ends_exactly_once() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("each", "foreach", config={"items": "{{ [1, 2, 3] }}"}),
            set_node("b", v="{{ item }}"),
        ],
        [edge("start", "each"), edge("each", "b", "each")],
    )
    result = await run(doc)
    ends = {"node.succeeded", "node.failed", "node.cancelled"}
    started = [e.data["step"] for e in result.events if e.kind == "node.started"]
    ended = [e.data["step"] for e in result.events if e.kind in ends]
    assert sorted(started) == sorted(ended)
    assert len(set(started)) == len(started) == 5


class TestCancellation:
    async def test_cancel_stops_running_nodes_and_ends_cancelled(self) -> None:
        doc = flow(
            [
                node("start", "start"),
                node("a", "probe", config={"sleep_s": 30}),
                node("b", "probe", config={"sleep_s": 30}),
            ],
            [edge("start", "a"), edge("start", "b")],
        )
        plan, p = probe_plan(doc)
        recorder = ExecutionRecorder()
        executor = Executor(plan, sink=recorder)
        task = asyncio.create_task(executor.run({}))
        while p.running < 2:
            await asyncio.sleep(0.01)
        executor.cancel()
        result = await asyncio.wait_for(task, 5)
        assert result.status == "cancelled"
        assert sorted(p.cancelled) == ["a", "b"]
        document = recorder.document()
        assert document["status"] == "cancelled"
        assert {s["node_id"]: s["status"] for s in document["steps"]} == {
            "start": "succeeded",
            "a": "cancelled",
            "b": "cancelled",
        }

    async def test_cancelling_the_task_emits_events_and_propagates(self) -> None:
        doc = flow(
            [node("start", "start"), node("a", "probe", config={"sleep_s": 30})],
            [edge("start", "a")],
        )
        plan, p = probe_plan(doc)
        recorder = ExecutionRecorder()
        task = asyncio.create_task(Executor(plan, sink=recorder).run({}))
        while p.running < 1:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert p.cancelled == ["a"]
        assert recorder.document()["status"] == "cancelled"


class TestRetryFromNode:
    def doc(self) -> dict[str, object]:
        return flow(
            [
                node("start", "start"),
                node("fetch", "probe", config={"output": {"v": "{{ input.n }}"}}),
                node("c", "condition", config={"expression": "{{ nodes.fetch.output.v > 1 }}"}),
                node("use", "probe", config={"output": "{{ nodes.fetch.output.v * 10 }}"}),
                ret("r", "{{ nodes.use.output }}"),
            ],
            [
                edge("start", "fetch"),
                edge("fetch", "c"),
                edge("c", "use", "true"),
                edge("use", "r"),
            ],
        )

    async def test_nodes_before_from_node_reuse_their_outputs(self) -> None:
        plan, p = probe_plan(self.doc())
        prior = {
            "start": PriorStep({"n": 5}),
            "fetch": PriorStep({"v": 7}),
            "c": PriorStep({"result": True}, "true"),
        }
        result = await run(plan, {"n": 5}, prior=prior, from_node="use")
        assert result.output == 70
        assert p.calls["fetch"] == 0
        assert p.calls["use"] == 1
        assert [s.get("reused", False) for s in result.document["steps"]] == [
            True,
            True,
            True,
            False,
            False,
        ]

    async def test_from_node_must_exist(self) -> None:
        plan, _ = probe_plan(self.doc())
        with pytest.raises(InvalidRetryError):
            Executor(plan, prior={}, from_node="ghost")


async def test_multi_sink_and_list_sink_see_the_same_stream() -> None:
    plan = FlowPlan.from_document(ECHO)
    first, second = ListSink(), ListSink()
    await Executor(plan, sink=MultiSink(first, second)).run({"n": 1})
    assert [e.seq for e in first.events] == [e.seq for e in second.events]


async def test_events_survive_a_round_trip_through_json() -> None:
    import json

    from flomation.engine.events import ExecutionEvent

    result = await run(ECHO, {"n": 3})
    recorder = ExecutionRecorder()
    for event in result.events:
        recorder.fold(ExecutionEvent.from_dict(json.loads(json.dumps(event.to_dict()))))
    assert recorder.document() == result.document


async def test_cancel_before_run_ends_cancelled_at_once() -> None:
    plan = FlowPlan.from_document(ECHO)
    recorder = ExecutionRecorder()
    executor = Executor(plan, sink=recorder)
    executor.cancel()
    result = await executor.run({"n": 1})
    assert result.status == "cancelled"
    assert recorder.document()["steps"] == []


async def test_a_retry_reuses_the_steps_of_the_first_execution() -> None:
    from flomation.engine.executor import prior_from_steps

    doc = TestRetryFromNode().doc()
    plan, p = probe_plan(doc)
    first = await run(plan, {"n": 5})
    assert first.output == 50
    prior = prior_from_steps(first.document["steps"])
    assert prior["c"] == PriorStep({"result": True}, "true")
    again = await run(plan, {"n": 5}, prior=prior, from_node="use")
    assert again.output == 50
    assert p.calls == {"fetch": 1, "use": 2}
