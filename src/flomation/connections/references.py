"""Which connections a flow definition uses: each node's type says, through
`NodeType.connection_refs(config)`, so plugin types that name connections elsewhere work too.
Pure: reads the node registry, no database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flomation.engine.nodes.base import NodeType
from flomation.engine.nodes.registry import NodeRegistry, default_registry


@dataclass(frozen=True, slots=True)
class ConnectionUse:
    """Node `node_id` (at `nodes[index]`, of type `node_type`) uses connection `name`."""

    index: int
    node_id: str
    node_type: NodeType
    name: str


def connection_uses(
    definition: Any, registry: NodeRegistry | None = None
) -> Iterator[ConnectionUse]:
    """Every use of a connection by a node of a known type, in node order. Malformed nodes
    are skipped: the flow's own validation reports them."""
    if not isinstance(definition, dict) or not isinstance(definition.get("nodes"), list):
        return
    registry = registry or default_registry()
    for index, node in enumerate(definition["nodes"]):
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            continue
        node_type = registry.get(node["type"])
        config = node.get("config")
        if node_type is None or not isinstance(config, dict):
            continue
        node_id = node.get("id")
        for name in sorted(node_type.connection_refs(config)):
            yield ConnectionUse(index, node_id if isinstance(node_id, str) else "", node_type, name)


def referenced_connections(definition: Any, registry: NodeRegistry | None = None) -> frozenset[str]:
    """The names of the connections a definition uses: what the API sends a runner."""
    return frozenset(use.name for use in connection_uses(definition, registry))
