"""The connection types and integration node types: Flomation's own, named module by module,
then plugins (entry-point group `flomation.connection_types`, each naming a `ConnectionType`).
Imported OpenAPI types live in the database and are added by the API per organisation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from flomation.engine.nodes.base import Connection, NodeType
from flomation.engine.nodes.plugins import NamedRegistry
from flomation.integrations import (
    amqp,
    csv,
    git,
    http,
    imap,
    mqtt,
    mysql,
    nats,
    openai,
    postgres,
    redis,
    s3,
    slack,
    smtp,
)
from flomation.integrations.base import ConnectionType

__all__ = [
    "CONNECTION_ENTRY_POINT_GROUP",
    "INTEGRATION_NODE_TYPES",
    "ConnectionTypeRegistry",
    "connection_types",
    "make_connection",
]


CONNECTION_ENTRY_POINT_GROUP = "flomation.connection_types"

_MODULES = (postgres, mysql, redis, s3, git, smtp, imap, amqp, mqtt, nats, http, slack, openai, csv)

INTEGRATION_NODE_TYPES: tuple[type[NodeType], ...] = tuple(
    node_type for module in _MODULES for node_type in module.NODE_TYPES
)


class ConnectionTypeRegistry(NamedRegistry[ConnectionType]):
    """Connection types by name; built-ins cannot be replaced."""

    kind = "connection type"

    def __init__(self, types: Iterable[ConnectionType] = ()) -> None:
        super().__init__()
        for connection_type in types:
            self.add(connection_type)

    def add(self, connection_type: ConnectionType, *, replace: bool = False) -> None:
        self._put(connection_type, replace=replace)

    def plugin(self, loaded: object, value: str) -> ConnectionType:
        if not isinstance(loaded, ConnectionType):
            raise TypeError(f"{value} is not a ConnectionType")
        return loaded

    def load_entry_points(self, group: str = CONNECTION_ENTRY_POINT_GROUP) -> None:
        """Adds plugin types; a broken plugin is logged and skipped, never fatal."""
        self.load_group(group)


@lru_cache(maxsize=1)
def connection_types() -> ConnectionTypeRegistry:
    """Built-in connection types and installed plugins (built once)."""
    registry = ConnectionTypeRegistry(
        connection_type for module in _MODULES for connection_type in module.CONNECTION_TYPES
    )
    registry.load_entry_points()
    return registry


def make_connection(
    name: str, type_name: str, values: Mapping[str, Any], status: str = "ok"
) -> Connection:
    """The `Connection` for stored or runner-local values. A type this process does not know
    (a plugin installed elsewhere) masks every string value, since which are secret is unknown."""
    known = connection_types().get(type_name)
    if known is not None:
        return known.connection(name, values, status)
    return Connection(
        name=name,
        type=type_name,
        values=dict(values),
        secret_fields=frozenset(key for key, value in values.items() if isinstance(value, str)),
        status=status,
    )
