"""Definition validation: each rule, every problem reported at once with where it is."""

from __future__ import annotations

from typing import Any

import pytest

from flomation.engine.validation import referenced_names, validate_definition
from tests.engine.flows import ECHO, FOREACH, IF_ELSE, RETRY_LOOP, edge, flow, node, ret, set_node


def errors(doc: Any) -> list[dict[str, Any]]:
    return validate_definition(doc).errors


def messages(doc: Any) -> list[str]:
    return [e["msg"] for e in errors(doc)]


@pytest.mark.parametrize("doc", [ECHO, IF_ELSE, FOREACH, RETRY_LOOP])
def test_spec_examples_are_valid(doc: dict[str, Any]) -> None:
    report = validate_definition(doc)
    assert report.valid, report.errors
    assert report.warnings == []


def test_every_problem_is_reported_at_once_with_node_and_field() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("Bad", "set", config={"values": {}}),
            node("a", "nope"),
            node("b", "delay", config={"seconds": "soon"}),
            node("c", "log", config={"message": "{{ oops"}),
        ],
        [edge("start", "a"), edge("a", "b"), edge("b", "c"), edge("c", "ghost")],
    )
    found = errors(doc)
    by_node = {(e.get("node_id"), e.get("field")) for e in found}
    assert ("Bad", "id") in by_node
    assert ("a", "type") in by_node
    assert ("b", "seconds") in by_node
    assert ("c", "message") in by_node
    assert {"loc": ["edges", 3, "to"], "msg": "no node with id 'ghost'"} in found
    assert all({"loc", "msg"} <= set(e) for e in found)


def test_duplicate_ids() -> None:
    doc = flow([node("start", "start"), set_node("a"), set_node("a")], [edge("start", "a")])
    assert any("duplicate node id" in m for m in messages(doc))


def test_edge_on_a_port_the_source_does_not_have() -> None:
    doc = flow(
        [node("start", "start"), set_node("a"), ret("r", 1)],
        [edge("start", "a"), edge("a", "r", "true")],
    )
    (problem,) = errors(doc)
    assert problem["loc"] == ["edges", 1, "port"]
    assert "no port 'true'" in problem["msg"]


def test_return_and_fail_have_no_ports() -> None:
    doc = flow(
        [node("start", "start"), ret("r", 1), set_node("a")],
        [edge("start", "r"), edge("r", "a")],
    )
    assert any("no output ports" in m for m in messages(doc))


def test_switch_ports_come_from_its_cases() -> None:
    switch = node("s", "switch", config={"value": "{{ input.k }}", "cases": ["a", "b"]})
    good = flow(
        [node("start", "start"), switch, set_node("x"), set_node("y"), set_node("z")],
        [edge("start", "s"), edge("s", "x", "a"), edge("s", "y", "b"), edge("s", "z", "default")],
    )
    assert errors(good) == []
    bad = flow(
        [node("start", "start"), switch, set_node("x")],
        [edge("start", "s"), edge("s", "x", "c")],
    )
    assert any("no port 'c'" in m for m in messages(bad))


def test_switch_case_may_not_be_a_reserved_port() -> None:
    switch = node("s", "switch", config={"value": "1", "cases": ["default", "error"]})
    assert len(errors(flow([node("start", "start"), switch], [edge("start", "s")]))) == 2


def test_edges_into_start_or_on_error_are_invalid() -> None:
    doc = flow(
        [node("start", "start"), set_node("a"), node("oe", "on_error")],
        [edge("start", "a"), edge("a", "start"), edge("a", "oe")],
    )
    found = messages(doc)
    assert "a start node cannot have incoming edges" in found
    assert "a on_error node cannot have incoming edges" in found


@pytest.mark.parametrize("starts", [0, 2])
def test_exactly_one_start(starts: int) -> None:
    nodes = [node(f"s{i}", "start") for i in range(starts)]
    assert any("exactly one start" in m for m in messages(flow(nodes, [])))


def test_at_most_one_on_error() -> None:
    doc = flow([node("start", "start"), node("e1", "on_error"), node("e2", "on_error")], [])
    assert any("at most one on_error" in m for m in messages(doc))


def test_unreachable_nodes_but_the_on_error_branch_is_exempt() -> None:
    doc = flow(
        [node("start", "start"), set_node("lost"), node("oe", "on_error"), set_node("notify")],
        [edge("oe", "notify")],
    )
    found = errors(doc)
    assert [e["node_id"] for e in found] == ["lost"]
    assert found[0]["msg"] == "not reachable from the start node"


def test_on_error_branch_may_not_join_the_main_graph() -> None:
    doc = flow(
        [node("start", "start"), set_node("a"), node("oe", "on_error")],
        [edge("start", "a"), edge("oe", "a")],
    )
    assert any("may not join" in m for m in messages(doc))


def test_foreach_body_may_not_connect_outside() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("each", "foreach", config={"items": "{{ input.xs }}"}),
            set_node("inside"),
            set_node("shared"),
        ],
        [
            edge("start", "each"),
            edge("each", "inside", "each"),
            edge("inside", "shared"),
            edge("each", "shared", "done"),
        ],
    )
    (problem,) = errors(doc)
    assert problem["node_id"] == "shared"
    assert "enters the body of foreach 'each'" in problem["msg"]


def test_foreach_body_may_not_loop_back_to_the_foreach() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("each", "foreach", config={"items": "{{ input.xs }}"}),
            set_node("inside"),
        ],
        [edge("start", "each"), edge("each", "inside", "each"), edge("inside", "each")],
    )
    assert any("leads back to the foreach" in m for m in messages(doc))


def test_foreach_body_may_not_hold_a_return() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("each", "foreach", config={"items": "{{ input.xs }}"}),
            ret("r", 1),
        ],
        [edge("start", "each"), edge("each", "r", "each")],
    )
    (problem,) = errors(doc)
    assert problem["node_id"] == "r"
    assert "return node may not be inside the body" in problem["msg"]


def test_config_is_checked_against_the_schema_with_templates_allowed() -> None:
    ok = flow(
        [node("start", "start"), node("d", "delay", config={"seconds": "{{ input.s }}"})],
        [edge("start", "d")],
    )
    assert errors(ok) == []
    bad = flow(
        [node("start", "start"), node("d", "delay", config={"seconds": -1, "extra": 1})],
        [edge("start", "d")],
    )
    assert {e["field"] for e in errors(bad)} == {"seconds", "config"}


def test_computed_var_and_secret_names_are_errors() -> None:
    doc = flow(
        [node("start", "start"), set_node("a", k="{{ secrets[input.name] }}")],
        [edge("start", "a")],
    )
    (problem,) = errors(doc)
    assert problem["node_id"] == "a"
    assert problem["field"] == "values.k"
    assert "literal name" in problem["msg"]


def test_referenced_names_are_extracted() -> None:
    doc = flow(
        [
            node("start", "start"),
            set_node("a", k="{{ secrets.TOKEN }}", r="{{ vars.region }}-{{ vars['zone'] }}"),
            node("l", "log", config={"message": "{{ secrets.OTHER | length }}"}),
        ],
        [edge("start", "a"), edge("a", "l")],
    )
    assert referenced_names(doc) == ({"region", "zone"}, {"TOKEN", "OTHER"})


def test_missing_secret_is_a_warning_not_an_error() -> None:
    doc = flow(
        [node("start", "start"), set_node("a", k="{{ secrets.TOKEN }}")], [edge("start", "a")]
    )
    report = validate_definition(doc, known_secrets={"OTHER"}, known_vars=set())
    assert report.valid
    assert [w["msg"] for w in report.warnings] == [
        "secret 'TOKEN' is not set (a runner may hold it)"
    ]


def test_a_reference_to_a_missing_node_is_a_warning() -> None:
    doc = flow(
        [node("start", "start"), set_node("a", k="{{ nodes.ghost.output }}")], [edge("start", "a")]
    )
    report = validate_definition(doc)
    assert report.valid
    assert report.warnings[0]["node_id"] == "a"


def test_non_template_fields_are_not_parsed() -> None:
    doc = flow(
        [
            node(
                "start",
                "start",
                config={"input_schema": {"type": "object", "description": "{{ not a template"}},
            )
        ],
        [],
    )
    assert errors(doc) == []


@pytest.mark.parametrize(
    "doc",
    [None, [], "flow", {"version": 1, "nodes": "x"}, {"nodes": []}, {"version": 1, "nodes": [1]}],
)
def test_documents_of_the_wrong_shape_are_errors_not_crashes(doc: Any) -> None:
    assert errors(doc)


def test_retry_policy_fields_are_checked() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("a", "delay", config={"seconds": 0}, retry={"max_attempts": 0, "bogus": 1}),
        ],
        [edge("start", "a")],
    )
    fields = {e["field"] for e in errors(doc)}
    assert fields == {"retry.max_attempts", "retry.bogus"}
