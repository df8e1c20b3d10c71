"""The structured difference between two flow definitions (`GET /flows/{id}/diff`).

- nodes are matched by id: `added` and `removed` list ids; a node is `changed` when anything
  but its `position` differs (moving a node on the canvas is not a change), with the names of
  the fields that differ;
- edges are compared as `{from, to, port}` (a missing port is `success`), as a multiset in
  definition order, and `reordered` says whether the order of the edges common to both
  changed (order decides which edges are back-edges, so it matters);
- settings are the top-level fields other than `nodes` and `edges`.

Pure: works on stored definitions (plain JSON, already validated when they were saved).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, TypedDict

EDITOR_ONLY_NODE_FIELDS = frozenset({"position"})
GRAPH_FIELDS = frozenset({"nodes", "edges"})
DEFAULT_PORT = "success"

EdgeKey = tuple[Any, Any, Any]


# `from` is a Python keyword, hence the functional form.
EdgeRefDict = TypedDict("EdgeRefDict", {"from": Any, "to": Any, "port": Any})


class NodeChange(TypedDict):
    id: str
    fields: list[str]


class NodesDiff(TypedDict):
    added: list[str]
    removed: list[str]
    changed: list[NodeChange]


class EdgesDiff(TypedDict):
    added: list[EdgeRefDict]
    removed: list[EdgeRefDict]
    reordered: bool


class SettingsDiff(TypedDict):
    changed: list[str]


class FlowDiff(TypedDict):
    nodes: NodesDiff
    edges: EdgesDiff
    settings: SettingsDiff


def diff_definitions(before: dict[str, Any], after: dict[str, Any]) -> FlowDiff:
    return {
        "nodes": _diff_nodes(_nodes_by_id(before), _nodes_by_id(after)),
        "edges": _diff_edges(_edge_keys(before), _edge_keys(after)),
        "settings": {"changed": _changed_keys(before, after, ignore=GRAPH_FIELDS)},
    }


def _nodes_by_id(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = definition.get("nodes")
    found: dict[str, dict[str, Any]] = {}
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            found.setdefault(node["id"], node)
    return found


def _diff_nodes(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> NodesDiff:
    changed: list[NodeChange] = []
    for node_id, new in after.items():
        old = before.get(node_id)
        if old is None:
            continue
        fields = _changed_keys(old, new, ignore=EDITOR_ONLY_NODE_FIELDS)
        if fields:
            changed.append({"id": node_id, "fields": fields})
    return {
        "added": [node_id for node_id in after if node_id not in before],
        "removed": [node_id for node_id in before if node_id not in after],
        "changed": changed,
    }


def _changed_keys(old: dict[str, Any], new: dict[str, Any], *, ignore: frozenset[str]) -> list[str]:
    keys = (set(old) | set(new)) - ignore
    return sorted(key for key in keys if key not in old or key not in new or old[key] != new[key])


def _edge_keys(definition: dict[str, Any]) -> list[EdgeKey]:
    edges = definition.get("edges")
    return [
        (edge.get("from"), edge.get("to"), edge.get("port", DEFAULT_PORT))
        for edge in (edges if isinstance(edges, list) else [])
        if isinstance(edge, dict)
    ]


def _diff_edges(before: list[EdgeKey], after: list[EdgeKey]) -> EdgesDiff:
    added = _minus(after, before)
    removed = _minus(before, after)
    return {
        "added": [_edge_ref(key) for key in added],
        "removed": [_edge_ref(key) for key in removed],
        "reordered": _minus(before, removed) != _minus(after, added),
    }


def _minus(edges: list[EdgeKey], other: list[EdgeKey]) -> list[EdgeKey]:
    """`edges` without one occurrence of each edge of `other`, keeping order (multiset)."""
    available = Counter(other)
    kept: list[EdgeKey] = []
    for key in edges:
        if available[key] > 0:
            available[key] -= 1
        else:
            kept.append(key)
    return kept


def _edge_ref(key: EdgeKey) -> EdgeRefDict:
    return {"from": key[0], "to": key[1], "port": key[2]}
