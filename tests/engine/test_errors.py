"""Failures: retries and backoff, timeouts, error ports, on_error, fail, execution timeout."""

from __future__ import annotations

from tests.engine.flows import edge, flow, node, ret, run, set_node
from tests.engine.probes import probe_plan


def probe(
    node_id: str, retry: dict[str, object] | None = None, **config: object
) -> dict[str, object]:
    extra: dict[str, object] = {"retry": retry} if retry else {}
    return node(node_id, "probe", config=config, **extra)


async def test_a_failing_node_is_retried_until_it_succeeds() -> None:
    doc = flow(
        [node("start", "start"), probe("p", retry={"max_attempts": 3, "delay_s": 0}, fail_times=2)],
        [edge("start", "p")],
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.status == "succeeded"
    assert p.attempts_seen == [1, 2, 3]
    (step,) = result.steps("p")
    assert step["attempts"] == 3
    assert step["error"] is None
    assert result.kinds("p").count("node.retrying") == 2


async def test_max_attempts_counts_the_first_attempt() -> None:
    doc = flow(
        [node("start", "start"), probe("p", retry={"max_attempts": 2, "delay_s": 0}, fail_times=5)],
        [edge("start", "p")],
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.status == "failed"
    assert p.calls["p"] == 2
    assert result.result.error == {
        "node_id": "p",
        "type": "code",
        "message": "probe failure 2",
        "attempt": 2,
    }


async def test_template_errors_are_never_retried() -> None:
    doc = flow(
        [
            node("start", "start"),
            probe("p", retry={"max_attempts": 3, "delay_s": 0}, fail_times=5, fail_type="template"),
        ],
        [edge("start", "p")],
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.result.error is not None
    assert result.result.error["type"] == "template"
    assert p.calls["p"] == 1


async def test_a_template_that_fails_names_the_field_and_is_not_retried() -> None:
    doc = flow(
        [
            node("start", "start"),
            node(
                "d",
                "delay",
                config={"seconds": "{{ input.missing.x + 1 }}"},
                retry={"max_attempts": 3},
            ),
        ],
        [edge("start", "d")],
    )
    result = await run(doc, {})
    error = result.result.error
    assert error is not None
    assert error["type"] == "template"
    assert error["message"].startswith("seconds: ")
    assert result.steps("d")[0]["attempts"] == 1


async def test_a_rendered_config_that_breaks_the_schema_is_a_config_error() -> None:
    doc = flow(
        [node("start", "start"), node("d", "delay", config={"seconds": "{{ input.s }}"})],
        [edge("start", "d")],
    )
    error = (await run(doc, {"s": "soon"})).result.error
    assert error is not None
    assert error["type"] == "config"
    assert "seconds" in error["message"]


async def test_timeout_s_limits_each_attempt_and_is_retried() -> None:
    doc = flow(
        [
            node("start", "start"),
            node(
                "p",
                "probe",
                config={"sleep_s": 30},
                timeout_s=0.05,
                retry={"max_attempts": 2, "delay_s": 0},
            ),
        ],
        [edge("start", "p")],
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.result.error is not None
    assert result.result.error["type"] == "timeout"
    assert result.result.error["attempt"] == 2
    assert p.cancelled == ["p", "p"]


async def test_the_error_port_handles_a_failure_with_error_in_scope() -> None:
    doc = flow(
        [
            node("start", "start"),
            probe("p", fail_times=1),
            set_node("ok"),
            set_node("handler", seen="{{ error.message }}", via="{{ nodes.p.error.type }}"),
            set_node("after", still="{{ error.node_id }}"),
        ],
        [
            edge("start", "p"),
            edge("p", "ok"),
            edge("p", "handler", "error"),
            edge("handler", "after"),
        ],
    )
    doc["nodes"][2]["config"] = {"values": {}}
    plan, _ = probe_plan(doc)
    result = await run(plan)
    assert result.status == "succeeded"
    assert result.steps("ok")[0]["status"] == "skipped"
    assert result.steps("handler")[0]["output"] == {"seen": "probe failure 1", "via": "code"}
    assert result.steps("after")[0]["output"] == {"still": "p"}
    assert result.document["error"] is None


async def test_fail_node_fails_with_its_message() -> None:
    doc = flow(
        [node("start", "start"), node("f", "fail", config={"message": "bad {{ input.what }}"})],
        [edge("start", "f")],
    )
    result = await run(doc, {"what": "thing"})
    assert result.status == "failed"
    assert result.result.error == {
        "node_id": "f",
        "type": "fail",
        "message": "bad thing",
        "attempt": 1,
    }


def on_error_flow(
    branch: list[dict[str, object]], branch_edges: list[dict[str, str]]
) -> dict[str, object]:
    return flow(
        [
            node("start", "start"),
            probe("slow", sleep_s=30),
            probe("boom", sleep_s=0.05, fail_times=1),
            node("oe", "on_error"),
            *branch,
        ],
        [edge("start", "slow"), edge("start", "boom"), *branch_edges],
    )


async def test_on_error_cancels_the_rest_runs_its_branch_and_the_execution_fails() -> None:
    doc = on_error_flow(
        [set_node("notify", msg="{{ error.message }} at {{ error.node_id }}")],
        [edge("oe", "notify")],
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.status == "failed"
    assert result.result.error is not None
    assert result.result.error["message"] == "probe failure 1"
    assert p.cancelled == ["slow"]
    assert result.steps("oe")[0]["output"] == {
        "node_id": "boom",
        "type": "code",
        "message": "probe failure 1",
        "attempt": 1,
    }
    assert result.steps("notify")[0]["output"] == {"msg": "probe failure 1 at boom"}
    assert result.output is None


async def test_a_return_in_the_on_error_branch_sets_the_output() -> None:
    doc = on_error_flow([ret("r", {"failed": "{{ error.node_id }}"})], [edge("oe", "r")])
    plan, _ = probe_plan(doc)
    result = await run(plan)
    assert result.status == "failed"
    assert result.output == {"failed": "boom"}


async def test_a_failure_inside_the_on_error_branch_keeps_the_original_error() -> None:
    doc = on_error_flow([node("bad", "fail", config={"message": "second"})], [edge("oe", "bad")])
    plan, _ = probe_plan(doc)
    result = await run(plan)
    assert result.result.error is not None
    assert result.result.error["message"] == "probe failure 1"
    assert result.steps("bad")[0]["error"]["message"] == "second"


async def test_a_handled_failure_does_not_trigger_on_error() -> None:
    doc = flow(
        [
            node("start", "start"),
            probe("f", fail_times=1),
            set_node("h"),
            node("oe", "on_error"),
            set_node("n"),
        ],
        [edge("start", "f"), edge("f", "h", "error"), edge("oe", "n")],
    )
    doc["nodes"][2]["config"] = {"values": {}}
    doc["nodes"][4]["config"] = {"values": {}}
    plan, _ = probe_plan(doc)
    result = await run(plan)
    assert result.status == "succeeded"
    assert result.steps("oe") == []


async def test_the_execution_timeout_ends_it_timed_out() -> None:
    doc = flow(
        [node("start", "start"), probe("slow", sleep_s=30)], [edge("start", "slow")], timeout_s=0.1
    )
    plan, p = probe_plan(doc)
    result = await run(plan)
    assert result.status == "timed_out"
    assert result.result.error is not None
    assert result.result.error["type"] == "timeout"
    assert p.cancelled == ["slow"]
    assert result.steps("slow")[0]["status"] == "cancelled"
    assert result.document["status"] == "timed_out"


async def test_an_exception_in_a_node_type_is_an_internal_error() -> None:
    from flomation.engine.nodes.base import NodeContext, NodeOutcome, NodeType
    from flomation.engine.nodes.registry import BUILTIN_TYPES, NodeRegistry
    from flomation.engine.plan import FlowPlan

    class Broken(NodeType):
        type = "broken"
        title = "Broken"

        async def run(self, ctx: NodeContext) -> NodeOutcome:
            raise KeyError("oops")

    registry = NodeRegistry([*BUILTIN_TYPES, Broken])
    doc = flow([node("start", "start"), node("b", "broken")], [edge("start", "b")])
    result = await run(FlowPlan.from_document(doc, registry))
    assert result.result.error == {
        "node_id": "b",
        "type": "internal",
        "message": "KeyError: 'oops'",
        "attempt": 1,
    }


async def test_a_later_attempt_gets_only_the_time_that_is_left() -> None:
    doc = flow(
        [node("start", "start"), probe("slow", sleep_s=30)], [edge("start", "slow")], timeout_s=3600
    )
    plan, _ = probe_plan(doc)
    result = await run(plan, timeout_s=0.05)
    assert result.status == "timed_out"
    assert result.result.error is not None
    assert "0.05 s" in result.result.error["message"]


RUNNER_LOST = {
    "node_id": None,
    "type": "runner_lost",
    "message": "runner lost while running this execution",
    "attempt": 2,
}


async def test_a_recovery_attempt_runs_only_the_on_error_branch_and_fails_with_its_error() -> None:
    doc = on_error_flow(
        [
            set_node("seen", why="{{ error.type }}: {{ error.message }} ({{ error.attempt }})"),
            ret("r", {"handled": "{{ nodes.seen.output.why }}", "n": "{{ input.n }}"}),
        ],
        [edge("oe", "seen"), edge("seen", "r")],
    )
    plan, p = probe_plan(doc)
    result = await run(plan, {"n": 1}, recover_from_error=RUNNER_LOST)
    assert result.status == "failed"
    assert result.result.error == RUNNER_LOST
    assert result.output == {
        "handled": "runner_lost: runner lost while running this execution (2)",
        "n": 1,
    }
    # The main graph never ran: not its start, not its nodes.
    assert p.attempts_seen == []
    assert [s["node_id"] for s in result.document["steps"]] == ["oe", "seen", "r"]
    assert result.steps("oe")[0]["output"] == RUNNER_LOST
    finished = [e for e in result.events if e.kind == "execution.finished"]
    assert finished[0].data["error"] == RUNNER_LOST


async def test_a_failure_in_a_recovery_attempts_branch_keeps_the_error_it_recovers_from() -> None:
    doc = on_error_flow([node("bad", "fail", config={"message": "second"})], [edge("oe", "bad")])
    plan, _ = probe_plan(doc)
    result = await run(plan, recover_from_error=RUNNER_LOST)
    assert (result.status, result.output, result.result.error) == ("failed", None, RUNNER_LOST)
    assert result.steps("bad")[0]["error"]["message"] == "second"
