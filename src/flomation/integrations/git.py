"""The git integration: connection type and nodes (rules in `integrations.base`)."""

from __future__ import annotations

from flomation.engine.nodes.base import NodeType
from flomation.integrations.base import ConnectionType

CONNECTION_TYPES: tuple[ConnectionType, ...] = ()
NODE_TYPES: tuple[type[NodeType], ...] = ()
