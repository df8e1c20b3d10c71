"""The registries an organisation sees: Flomation's own types plus its imported services'.
The API (validation, `GET /node-types`, `GET /connection-types`) and a runner (the types a
claim carries) build theirs here, the same way."""

from __future__ import annotations

from collections.abc import Iterable

from flomation.engine.nodes.registry import NodeRegistry, default_registry
from flomation.integrations.openapi.service import ImportedService
from flomation.integrations.registry import ConnectionTypeRegistry, connection_types

__all__ = ["connection_type_registry", "node_registry"]


def node_registry(
    services: Iterable[ImportedService], base: NodeRegistry | None = None
) -> NodeRegistry:
    """A new registry: `base` (the default one) and every service's node types."""
    base = base or default_registry()
    registry = NodeRegistry(t for name in base.names() if (t := base.get(name)) is not None)
    for service in services:
        for node_type in service.node_types:
            registry.add(node_type)
    return registry


def connection_type_registry(
    services: Iterable[ImportedService], base: ConnectionTypeRegistry | None = None
) -> ConnectionTypeRegistry:
    """A new registry: `base` (the built-in and plugin types) and every service's type."""
    base = base or connection_types()
    registry = ConnectionTypeRegistry(
        t for name in base.names() if (t := base.get(name)) is not None
    )
    for service in services:
        registry.add(service.connection_type)
    return registry
