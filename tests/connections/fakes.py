"""A connection type and a node that uses it, registered only while a test runs: the tests of
connections do not depend on which service modules are filled."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from flomation.engine.nodes.base import (
    ConnectionFailedError,
    EngineServices,
    NodeContext,
    NodeOutcome,
    ServiceError,
)
from flomation.engine.nodes.registry import default_registry
from flomation.integrations.base import ConnectionType, IntegrationNode, connection_property
from flomation.integrations.registry import connection_types

FAKE_TYPE = "conntest"
OTHER_TYPE = "conntest_other"
ECHO_NODE = "conntest.echo"


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    """Succeeds unless the host is "unreachable"; its failure quotes the password, as a
    careless driver's message might, to prove the runner masks it."""
    host = values.get("host")
    if host == "unreachable":
        raise ConnectionFailedError(
            f"could not reach {host} (tried with password {values.get('password')})"
        )
    if host == "broken":
        raise RuntimeError("the probe itself has a bug")
    return f"connected to {host}:{values.get('port')}"


FAKE = ConnectionType(
    type=FAKE_TYPE,
    title="Test service",
    schema={
        "type": "object",
        "properties": {
            "host": {"type": "string", "minLength": 1},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "password": {"type": "string", "minLength": 8, "x-secret": True},
            "token": {"type": "string", "x-secret": True},
        },
        "required": ["host", "port"],
        "additionalProperties": False,
    },
    probe=probe,
)
OTHER = ConnectionType(
    type=OTHER_TYPE,
    title="Another service",
    schema={"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
)


class EchoConnection(IntegrationNode):
    """Answers its connection's values, the secret one included (which the engine masks)."""

    type: ClassVar[str] = ECHO_NODE
    title: ClassVar[str] = "Echo a connection"
    connection_types: ClassVar[tuple[str, ...]] = (FAKE_TYPE,)
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"connection": connection_property()},
        "required": ["connection"],
        "additionalProperties": False,
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        ctx.log("info", f"using password {connection.values.get('password')}")
        return NodeOutcome(
            {
                "name": connection.name,
                "type": connection.type,
                "host": connection.values.get("host"),
                "password": connection.values.get("password"),
            }
        )


class LeakConnection(IntegrationNode):
    """Leaks its connection's password as a careless node might: base64-encoded in its output,
    then in the message of its error."""

    type: ClassVar[str] = "conntest.leak"
    title: ClassVar[str] = "Leak a connection"
    connection_types: ClassVar[tuple[str, ...]] = (FAKE_TYPE,)
    config_schema: ClassVar[dict[str, Any]] = EchoConnection.config_schema
    retryable: ClassVar[bool] = False

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        password = str(self.connect(ctx).values.get("password"))
        if ctx.raw_config.get("connection") == "failing":
            raise ServiceError(f"the server refused password {password}")
        encoded = base64.b64encode(password.encode()).decode()
        return NodeOutcome({"encoded": encoded, "url": f"db://u:{password}@h/d"})


@contextmanager
def registered() -> Iterator[None]:
    """The fake types in this process's registries, removed afterwards."""
    types = connection_types()
    nodes = default_registry()
    types.add(FAKE, replace=True)
    types.add(OTHER, replace=True)
    nodes.add(EchoConnection, replace=True)
    nodes.add(LeakConnection, replace=True)
    try:
        yield
    finally:
        types._types.pop(FAKE_TYPE, None)
        types._types.pop(OTHER_TYPE, None)
        nodes._types.pop(ECHO_NODE, None)
        nodes._types.pop(LeakConnection.type, None)


def echo_flow(connection: str) -> dict[str, Any]:
    """start -> echo (with `connection`) -> return its output."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "echo", "type": ECHO_NODE, "config": {"connection": connection}},
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.echo.output }}"}},
        ],
        "edges": [{"from": "start", "to": "echo"}, {"from": "echo", "to": "out"}],
    }
