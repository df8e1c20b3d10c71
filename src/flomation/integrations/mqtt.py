"""The mqtt integration (Mosquitto and other MQTT brokers, through aiomqtt): the `mqtt`
connection type and the `mqtt.publish` node (rules in `integrations.base`).

MQTT 5 by default, whose user properties carry the node's `headers`; `protocol` "3.1.1" is
for older brokers (without headers). A publish ends when the broker acknowledged it (QoS 1
and 2) or when it was written to the socket (QoS 0). It is not retried once sent: whether the
broker kept a message whose acknowledgement never came is unknown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeContext,
    NodeOutcome,
    NodeTimeoutError,
    NodeType,
    ServiceError,
)
from flomation.integrations.base import (
    HOST_PROPERTY,
    PASSWORD_PROPERTY,
    PROBE_TIMEOUT_S,
    ConnectionType,
    IntegrationNode,
    connection_property,
    port_property,
)
from flomation.integrations.egress import check_egress
from flomation.integrations.messages import (
    BODY_PROPERTY,
    HEADERS_PROPERTY,
    TIMEOUT_PROPERTY,
    encode_body,
    header_strings,
    time_budget_s,
)

if TYPE_CHECKING:
    import aiomqtt

__all__ = ["CONNECTION_TYPES", "MQTT", "NODE_TYPES", "MqttPublishNode"]

# The CONNACK reason codes that mean "these credentials are refused" (MQTT 5 and 3.1.1).
_AUTH_REFUSED_CODES = frozenset({4, 5, 134, 135, 140})


def _client(values: Mapping[str, Any], timeout_s: float) -> aiomqtt.Client:
    import ssl

    import aiomqtt

    protocol = (
        aiomqtt.ProtocolVersion.V311
        if str(values.get("protocol", "5")) == "3.1.1"
        else aiomqtt.ProtocolVersion.V5
    )
    return aiomqtt.Client(
        _host(values),
        _port(values),
        username=values.get("username") or None,
        password=values.get("password") or None,
        identifier=values.get("client_id") or None,
        protocol=protocol,
        tls_context=ssl.create_default_context() if values.get("tls") else None,
        timeout=timeout_s,
    )


def _host(values: Mapping[str, Any]) -> str:
    host = values.get("host")
    if not isinstance(host, str) or not host:
        raise ConfigError("the MQTT connection has no host", field="connection")
    return host


def _port(values: Mapping[str, Any]) -> int:
    return int(values.get("port") or (8883 if values.get("tls") else 1883))


async def _check_egress(services: EngineServices, values: Mapping[str, Any]) -> None:
    scheme = "mqtts" if values.get("tls") else "mqtt"
    await check_egress(services.egress, scheme, _host(values), _port(values))


def _where(values: Mapping[str, Any]) -> str:
    return f"MQTT broker {values.get('host')}:{_port(values)}"


def _connect_error(values: Mapping[str, Any], exc: Exception, timeout_s: float) -> Exception:
    """The `NodeError` for a failed connect (nothing was sent yet, so retrying is safe)."""
    import aiomqtt

    where = _where(values)
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return ConnectionFailedError(f"{where}: could not connect within {timeout_s:g} s")
    if isinstance(exc, aiomqtt.MqttCodeError) and _code(exc) in _AUTH_REFUSED_CODES:
        return AuthenticationError(f"{where} refused the connection's credentials: {exc}")
    if isinstance(exc, aiomqtt.MqttCodeError):
        return ServiceError(f"{where} refused the connection: {exc}")
    return ConnectionFailedError(f"{where}: could not connect ({exc})")


def _code(exc: Exception) -> int:
    rc = getattr(exc, "rc", None)
    value = getattr(rc, "value", rc)
    return value if isinstance(value, int) else -1


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    import aiomqtt

    budget = min(timeout_s, PROBE_TIMEOUT_S)
    await _check_egress(services, values)
    try:
        async with asyncio.timeout(budget), _client(values, budget):
            pass
    except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
        raise _connect_error(values, exc, budget) from None
    return f"connected to {_where(values)}"


MQTT = ConnectionType(
    type="mqtt",
    title="MQTT",
    icon="radio",
    description="An MQTT broker such as Mosquitto (MQTT 5, or 3.1.1).",
    probe=probe,
    schema={
        "type": "object",
        "properties": {
            "host": HOST_PROPERTY,
            "port": port_property(description="Default 1883, or 8883 with TLS."),
            "username": {"type": "string", "title": "User name"},
            "password": PASSWORD_PROPERTY,
            "tls": {"type": "boolean", "title": "TLS", "default": False},
            "client_id": {"type": "string", "title": "Client id", "maxLength": 128},
            "protocol": {"enum": ["5", "3.1.1"], "default": "5", "title": "Protocol"},
        },
        "required": ["host"],
        "additionalProperties": False,
    },
)


class MqttPublishNode(IntegrationNode):
    type = "mqtt.publish"
    title = "Publish to MQTT"
    description = (
        "Publishes one message to a topic of an MQTT broker and waits for its acknowledgement "
        "(QoS 1 and 2)."
    )
    icon = "radio"
    group = "mqtt"
    connection_types: ClassVar[tuple[str, ...]] = ("mqtt",)
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "topic": {"type": "string", "title": "Topic", "minLength": 1},
            "qos": {"enum": [0, 1, 2], "default": 1, "title": "QoS"},
            "retain": {"type": "boolean", "default": False},
            "body": BODY_PROPERTY,
            "headers": {
                **HEADERS_PROPERTY,
                "description": "Sent as MQTT 5 user properties.",
            },
            "timeout_s": TIMEOUT_PROPERTY,
        },
        "required": ["connection", "topic"],
        "additionalProperties": False,
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"published": {"const": True}},
        "required": ["published"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        import aiomqtt

        values = self.connect(ctx).values
        config = ctx.config
        topic = str(config["topic"])
        if any(char in topic for char in "+#"):
            raise ConfigError(
                f"cannot publish to {topic!r}: wildcards (+, #) are for subscribing",
                field="topic",
            )
        body, content_type = encode_body(config.get("body"))
        headers = header_strings(config.get("headers"))
        v5 = str(values.get("protocol", "5")) != "3.1.1"
        if headers and not v5:
            raise ConfigError("headers need MQTT 5; this connection uses 3.1.1", field="headers")
        budget = time_budget_s(ctx)
        await _check_egress(ctx.services, values)
        client = _client(values, budget)
        try:
            async with asyncio.timeout(budget):
                await client.__aenter__()
        except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
            raise _connect_error(values, exc, budget) from None
        try:
            await _publish(client, topic, body, content_type, headers, v5, config, budget)
        finally:
            # A broker that already went cannot change the publish's own result.
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)
        return NodeOutcome({"published": True})


async def _publish(
    client: aiomqtt.Client,
    topic: str,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str],
    v5: bool,
    config: Mapping[str, Any],
    timeout_s: float,
) -> None:
    import aiomqtt

    properties = None
    if v5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ContentType = content_type
        if headers:
            properties.UserProperty = list(headers.items())
    try:
        await client.publish(
            topic,
            body,
            qos=int(config.get("qos", 1)),
            retain=bool(config.get("retain", False)),
            properties=properties,
            timeout=timeout_s,
        )
    except (TimeoutError, aiomqtt.MqttError) as exc:
        # aiomqtt reports its own time limit as an MqttError saying so.
        if isinstance(exc, TimeoutError) or "timed out" in str(exc):
            raise NodeTimeoutError(
                f"MQTT broker did not acknowledge the message on {topic!r} within "
                f"{timeout_s:g} s; it may have been stored, so it is not sent again",
                retryable=False,
            ) from None
        raise ServiceError(f"MQTT publish to {topic!r} failed: {exc}", retryable=False) from None


CONNECTION_TYPES: tuple[ConnectionType, ...] = (MQTT,)
NODE_TYPES: tuple[type[NodeType], ...] = (MqttPublishNode,)
