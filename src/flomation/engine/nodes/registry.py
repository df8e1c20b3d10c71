"""The node-type registry: built-ins, the process node types, and third-party entry points."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from flomation.engine.nodes.base import NodeType
from flomation.engine.nodes.data import DelayNode, LogNode, SetNode
from flomation.engine.nodes.flow import FailNode, MergeNode, OnErrorNode, ReturnNode, StartNode
from flomation.engine.nodes.foreach import ForeachNode
from flomation.engine.nodes.http import HttpNode
from flomation.engine.nodes.logic import ConditionNode, SwitchNode
from flomation.engine.nodes.plugins import NamedRegistry
from flomation.engine.nodes.python import PythonNode
from flomation.engine.nodes.shell import ShellNode
from flomation.engine.nodes.subflow import SubflowNode
from flomation.integrations.registry import INTEGRATION_NODE_TYPES

__all__ = [
    "BUILTIN_TYPES",
    "ENTRY_POINT_GROUP",
    "PROCESS_TYPES",
    "NodeRegistry",
    "default_registry",
    "list_node_types",
]


ENTRY_POINT_GROUP = "flomation.nodes"

BUILTIN_TYPES: tuple[type[NodeType], ...] = (
    StartNode,
    SetNode,
    ConditionNode,
    SwitchNode,
    ForeachNode,
    MergeNode,
    DelayNode,
    FailNode,
    ReturnNode,
    LogNode,
    SubflowNode,
    OnErrorNode,
)

# The node types that reach outside the engine's process (the network, a sandboxed
# interpreter, a shell). Imported by name like the built-ins, so that a renamed or broken
# module fails the import of the registry instead of a node type going missing.
PROCESS_TYPES: tuple[type[NodeType], ...] = (
    HttpNode,
    PythonNode,
    ShellNode,
)


class NodeRegistry(NamedRegistry[NodeType]):
    """Node types by name. Built-ins cannot be replaced by third-party types."""

    kind = "node type"

    def __init__(self, types: Iterable[type[NodeType] | NodeType] = ()) -> None:
        super().__init__()
        for node_type in types:
            self.add(node_type)

    def add(self, node_type: type[NodeType] | NodeType, *, replace: bool = False) -> None:
        instance = node_type() if isinstance(node_type, type) else node_type
        if not isinstance(instance, NodeType):
            raise TypeError(f"{node_type!r} is not a NodeType")
        self._put(instance, replace=replace)

    def plugin(self, loaded: object, value: str) -> NodeType:
        instance = loaded() if isinstance(loaded, type) else loaded
        if not isinstance(instance, NodeType):
            raise TypeError(f"{value} is not a NodeType subclass")
        return instance

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Adds third-party types; a broken plugin is logged and skipped, never fatal."""
        self.load_group(group)


@lru_cache(maxsize=1)
def default_registry() -> NodeRegistry:
    """Built-ins, the process node types, the integrations and installed plugins (built once)."""
    registry = NodeRegistry((*BUILTIN_TYPES, *PROCESS_TYPES, *INTEGRATION_NODE_TYPES))
    registry.load_entry_points()
    return registry


def list_node_types() -> list[dict[str, Any]]:
    """The `GET /api/v1/node-types` items: type, title, description, icon, group, ports, schemas."""
    return default_registry().describe()
