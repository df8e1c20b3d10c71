"""What a connection type is: its values' JSON schema (secret fields marked `"x-secret": true`),
how to probe it from a runner, and how an integration node reaches it.

Rules every integration module follows:

- Client libraries are imported inside the functions that use them, so that loading the node
  registry (the API, `flomation run`) does not load every service's client.
- Values from a flow travel as parameters (bound SQL parameters, argument lists, message
  bodies), never pasted into SQL or a command line.
- Every wait is bounded: the node's `ctx.remaining_s()` or the probe's `timeout_s`.
- Failures are `NodeError`s saying what the other system answered: `ConnectionFailedError`
  (unreachable, TLS; retryable), `AuthenticationError` (credentials refused), `ServiceError`
  (the service refused the request; `retryable=True` only where retrying is safe),
  `ResultTooLargeError` (a result past the step size limit), `ConfigError` (bad config).
- Outputs are JSON-safe: dates ISO 8601, decimals as strings, bytes base64.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flomation.engine.nodes.base import Connection, EngineServices, NodeContext, NodeType

__all__ = [
    "HOST_PROPERTY",
    "PASSWORD_PROPERTY",
    "PROBE_TIMEOUT_S",
    "ConnectionType",
    "IntegrationNode",
    "Probe",
    "connection_property",
    "port_property",
    "secret_field_names",
]

# A connection test answers within this, whatever the probe waits on.
PROBE_TIMEOUT_S = 15.0

# Values-schema properties the connection types share (never mutate them: they are shared).
HOST_PROPERTY: dict[str, Any] = {"type": "string", "title": "Host", "minLength": 1}
PASSWORD_PROPERTY: dict[str, Any] = {"type": "string", "title": "Password", "x-secret": True}


def port_property(*, default: int | None = None, description: str | None = None) -> dict[str, Any]:
    """A values schema's TCP `port`, with its default or a description of the defaults."""
    prop: dict[str, Any] = {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535}
    if default is not None:
        prop["default"] = default
    if description is not None:
        prop["description"] = description
    return prop


# Checks that a connection works; returns a short message for the user ("connected to
# PostgreSQL 15.4"), raises a `NodeError` saying what failed. Runs on a runner.
Probe = Callable[[Mapping[str, Any], EngineServices, float], Awaitable[str]]


def secret_field_names(schema: Mapping[str, Any]) -> frozenset[str]:
    """The top-level properties of a values schema marked `"x-secret": true`."""
    properties = schema.get("properties") or {}
    return frozenset(
        name
        for name, prop in properties.items()
        if isinstance(prop, Mapping) and prop.get("x-secret") is True
    )


@dataclass(frozen=True)
class ConnectionType:
    """One kind of connection (`postgres`, `s3`, `openapi.petstore`, ...)."""

    type: str
    title: str
    schema: dict[str, Any]
    probe: Probe | None = None
    # `"oauth2"` for types whose tokens the API obtains and refreshes.
    auth: str | None = None
    icon: str = "plug"
    description: str = ""
    secret_fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "secret_fields", secret_field_names(self.schema))

    def describe(self) -> dict[str, Any]:
        """The `GET /api/v1/connection-types` item of this type."""
        item: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "schema": self.schema,
            "secret_fields": sorted(self.secret_fields),
            "icon": self.icon,
            "description": self.description,
        }
        if self.auth is not None:
            item["auth"] = self.auth
        return item

    def connection(self, name: str, values: Mapping[str, Any], status: str = "ok") -> Connection:
        """The `Connection` a node sees for these values of this type."""
        return Connection(
            name=name,
            type=self.type,
            values=dict(values),
            secret_fields=self.secret_fields,
            status=status,
        )


class IntegrationNode(NodeType):
    """A node that works through a connection of one of `connection_types`; its config schema
    has `connection` (a literal name). Subclasses implement `run` and call `self.connect(ctx)`
    for the checked connection."""

    connection_types: ClassVar[tuple[str, ...]] = ()

    def connect(self, ctx: NodeContext) -> Connection:
        return ctx.connection(self.connection_types)


def connection_property(title: str = "Connection") -> dict[str, Any]:
    """The `connection` property of an integration node's config schema: a literal name."""
    return {
        "type": "string",
        "title": title,
        "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        "x-template": False,
    }
