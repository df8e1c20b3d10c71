"""The structured diff, as a pure function: what counts as a change and what does not."""

from __future__ import annotations

from typing import Any

from flomation.flows.diff import diff_definitions


def definition(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **settings: Any
) -> dict[str, Any]:
    return {"version": 1, **settings, "nodes": nodes, "edges": edges}


def test_moving_nodes_is_not_a_change() -> None:
    before = definition([{"id": "a", "type": "set", "position": {"x": 0, "y": 0}}], [])
    after = definition([{"id": "a", "type": "set", "position": {"x": 50, "y": 9}}], [])
    diff = diff_definitions(before, after)
    assert diff["nodes"] == {"added": [], "removed": [], "changed": []}


def test_adding_a_position_to_a_node_is_not_a_change_but_a_retry_is() -> None:
    before = definition([{"id": "a", "type": "http"}], [])
    after = definition(
        [{"id": "a", "type": "http", "position": {"x": 1, "y": 2}, "retry": {"max_attempts": 2}}],
        [],
    )
    assert diff_definitions(before, after)["nodes"]["changed"] == [{"id": "a", "fields": ["retry"]}]


def test_a_missing_port_equals_success_and_duplicate_edges_count() -> None:
    before = definition([], [{"from": "a", "to": "b"}])
    after = definition([], [{"from": "a", "to": "b", "port": "success"}, {"from": "a", "to": "b"}])
    edges = diff_definitions(before, after)["edges"]
    assert edges["added"] == [{"from": "a", "to": "b", "port": "success"}]
    assert edges["removed"] == []
    assert edges["reordered"] is False


def test_reordering_edges_is_reported() -> None:
    first = {"from": "a", "to": "b"}
    second = {"from": "b", "to": "a", "port": "false"}
    diff = diff_definitions(definition([], [first, second]), definition([], [second, first]))
    assert diff["edges"] == {"added": [], "removed": [], "reordered": True}


def test_settings_are_top_level_fields_other_than_the_graph() -> None:
    before = definition([], [], timeout_s=10, runs_on={"a": "1"})
    after = definition([{"id": "x", "type": "log"}], [], timeout_s=10, concurrency=4)
    diff = diff_definitions(before, after)
    assert diff["settings"] == {"changed": ["concurrency", "runs_on"]}
    assert diff["nodes"]["added"] == ["x"]
