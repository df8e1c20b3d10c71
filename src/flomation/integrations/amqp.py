"""The amqp integration (RabbitMQ and other AMQP 0-9-1 brokers, through aio-pika): the
`amqp` connection type and the `amqp.publish` node (rules in `integrations.base`).

A publish waits for the broker's confirm (publisher confirms) and, with `mandatory`, for its
verdict on routing, so "published" means the broker took the message. It is retried only when
the broker said it stored nothing (returned as unroutable, or nacked): a publish that timed
out or lost its connection before the confirm may have been stored, and sending it again
could deliver it twice."""

from __future__ import annotations

import asyncio
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
    PASSWORD_PROPERTY,
    PROBE_TIMEOUT_S,
    ConnectionType,
    IntegrationNode,
    connection_property,
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
    from aio_pika.abc import AbstractConnection
    from yarl import URL

__all__ = ["AMQP", "CONNECTION_TYPES", "NODE_TYPES", "AmqpPublishNode", "amqp_url"]


def amqp_url(values: Mapping[str, Any]) -> str:
    """The URL to connect with: the connection's URL with its secret password put in. A
    password written into the URL itself is refused, since only `password` is masked."""
    from yarl import URL

    url = URL(str(values.get("url", "")))
    if url.scheme not in ("amqp", "amqps") or not url.host:
        raise ConfigError(
            "the connection's url must be amqp://host[:port][/vhost] or amqps://...",
            field="connection",
        )
    if url.password:
        raise ConfigError(
            "the connection's url holds a password: put it in the connection's `password` "
            "field, which is kept secret",
            field="connection",
        )
    password = values.get("password")
    if password:
        url = url.with_password(str(password))
    return str(url)


def _where(values: Mapping[str, Any]) -> str:
    """The broker's address for messages (never the password)."""
    from yarl import URL

    url = URL(str(values.get("url", "")))
    return f"{url.host}:{_port(url)}{url.path if url.path not in ('', '/') else ''}"


def _port(url: URL) -> int:
    return url.explicit_port or (5671 if url.scheme == "amqps" else 5672)


async def _connect(
    values: Mapping[str, Any], services: EngineServices, timeout_s: float
) -> AbstractConnection:
    """An open connection, or the `NodeError` saying why not (before anything was sent)."""
    import aio_pika
    import aiormq.exceptions
    from yarl import URL

    url = amqp_url(values)
    parsed = URL(url)
    await check_egress(services.egress, parsed.scheme, str(parsed.host), _port(parsed))
    where = _where(values)
    try:
        async with asyncio.timeout(timeout_s):
            # Not a robust connection: a node's publish is one short exchange, and a silent
            # reconnect could hide whether the message reached the broker.
            connection = await aio_pika.connect(
                url, timeout=timeout_s, client_properties={"connection_name": "flomation"}
            )
    except TimeoutError:
        raise ConnectionFailedError(
            f"AMQP broker {where}: could not connect within {timeout_s:g} s"
        ) from None
    except (aiormq.exceptions.ProbableAuthenticationError, aiormq.exceptions.AuthenticationError):
        raise AuthenticationError(
            f"AMQP broker {where} refused the login of the connection's user"
        ) from None
    except aiormq.exceptions.AMQPConnectionError as exc:
        if len(exc.args) == 2 and isinstance(exc.args[0], int):  # (errno, text) from the socket
            raise ConnectionFailedError(
                f"AMQP broker {where}: could not connect ({exc.args[1]})"
            ) from None
        raise ConnectionFailedError(f"AMQP broker {where}: {_broker_text(exc)}") from None
    except OSError as exc:
        raise ConnectionFailedError(
            f"AMQP broker {where}: could not connect ({exc.strerror or exc})"
        ) from None
    return connection


def _broker_text(exc: BaseException) -> str:
    """What the broker said, as aiormq carries it (reply text after its explanation)."""
    text = str(exc) or type(exc).__name__
    return text.strip("()',\"")


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    budget = min(timeout_s, PROBE_TIMEOUT_S)
    connection = await _connect(values, services, budget)
    try:
        async with asyncio.timeout(budget):
            channel = await connection.channel()
            await channel.close()
        underlay = connection.transport
        properties = getattr(underlay.connection, "server_properties", None) if underlay else None
    except TimeoutError:
        raise ConnectionFailedError(
            f"AMQP broker {_where(values)}: no channel within {budget:g} s"
        ) from None
    finally:
        await connection.close()
    properties = properties or {}
    product = _text(properties.get("product")) or "AMQP broker"
    version = _text(properties.get("version"))
    return f"connected to {product} {version}".rstrip() + f" at {_where(values)}"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value) if value is not None else ""


AMQP = ConnectionType(
    type="amqp",
    title="AMQP (RabbitMQ)",
    icon="rabbit",
    description="An AMQP 0-9-1 broker such as RabbitMQ.",
    probe=probe,
    schema={
        "type": "object",
        "properties": {
            "url": {
                "type": "string",
                "title": "URL",
                "pattern": "^amqps?://",
                "description": "amqp://user@host:5672/vhost (amqps:// for TLS), "
                "without the password",
                "examples": ["amqp://guest@localhost:5672/"],
            },
            "password": PASSWORD_PROPERTY,
        },
        "required": ["url"],
        "additionalProperties": False,
    },
)


class AmqpPublishNode(IntegrationNode):
    type = "amqp.publish"
    title = "Publish to AMQP"
    description = (
        "Publishes one message to an exchange of an AMQP broker (RabbitMQ) and waits for the "
        "broker's confirm. A message no queue receives fails the node unless `mandatory` is off."
    )
    icon = "rabbit"
    group = "amqp"
    connection_types: ClassVar[tuple[str, ...]] = ("amqp",)
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "exchange": {
                "type": "string",
                "title": "Exchange",
                "default": "",
                "description": "Empty: the default exchange (the routing key names a queue).",
            },
            "routing_key": {"type": "string", "title": "Routing key", "default": ""},
            "body": BODY_PROPERTY,
            "headers": HEADERS_PROPERTY,
            "content_type": {
                "type": "string",
                "description": "Default: from the body (application/json or text/plain).",
            },
            "message_id": {"type": "string"},
            "persistent": {
                "type": "boolean",
                "default": True,
                "description": "Stored on disk by durable queues (delivery mode 2).",
            },
            "mandatory": {
                "type": "boolean",
                "default": True,
                "description": "Fail when no queue receives the message.",
            },
            "timeout_s": TIMEOUT_PROPERTY,
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"published": {"const": True}},
        "required": ["published"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        import aio_pika

        connection_values = self.connect(ctx).values
        config = ctx.config
        body, content_type = encode_body(config.get("body"))
        message = aio_pika.Message(
            body,
            headers=dict(header_strings(config.get("headers"))),
            content_type=config.get("content_type") or content_type,
            message_id=config.get("message_id"),
            delivery_mode=(
                aio_pika.DeliveryMode.PERSISTENT
                if config.get("persistent", True)
                else aio_pika.DeliveryMode.NOT_PERSISTENT
            ),
        )
        budget = time_budget_s(ctx)
        connection = await _connect(connection_values, ctx.services, budget)
        try:
            await _publish(connection, message, config, budget)
        finally:
            await connection.close()
        return NodeOutcome({"published": True})


async def _publish(
    connection: AbstractConnection,
    message: Any,
    config: Mapping[str, Any],
    timeout_s: float,
) -> None:
    import aiormq.exceptions

    exchange_name = str(config.get("exchange") or "")
    routing_key = str(config.get("routing_key") or "")
    shown = f"exchange {exchange_name!r}" if exchange_name else "the default exchange"
    sent = False
    try:
        async with asyncio.timeout(timeout_s):
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = (
                await channel.get_exchange(exchange_name, ensure=False)
                if exchange_name
                else channel.default_exchange
            )
            sent = True
            await exchange.publish(
                message, routing_key, mandatory=bool(config.get("mandatory", True))
            )
    except aiormq.exceptions.DeliveryError as exc:
        # Returned (unroutable) or nacked: the broker says it kept nothing, so sending the
        # message again cannot deliver it twice.
        raise ServiceError(
            f"AMQP broker did not take the message for {shown} with routing key "
            f"{routing_key!r}: {_refusal(exc)}",
            retryable=True,
        ) from None
    except aiormq.exceptions.ChannelAccessRefused as exc:
        raise ServiceError(
            f"AMQP broker refused {shown}: {_broker_text(exc)}", field="exchange"
        ) from None
    except aiormq.exceptions.AMQPChannelError as exc:
        raise ServiceError(f"AMQP broker refused {shown}: {_broker_text(exc)}") from None
    except TimeoutError:
        if sent:
            raise NodeTimeoutError(
                f"AMQP broker did not confirm the message within {timeout_s:g} s; it may have "
                "been stored, so it is not sent again",
                retryable=False,
            ) from None
        raise ConnectionFailedError(f"AMQP broker: no channel within {timeout_s:g} s") from None
    except (aiormq.exceptions.AMQPConnectionError, ConnectionError) as exc:
        raise ConnectionFailedError(
            f"AMQP connection lost while publishing to {shown}: {_broker_text(exc)}",
            retryable=not sent,
        ) from None


def _refusal(exc: BaseException) -> str:
    frame = getattr(exc, "frame", None)
    reply_text = getattr(frame, "reply_text", None)
    if reply_text:
        return f"{reply_text} ({getattr(frame, 'reply_code', '')})".replace(" ()", "")
    if type(frame).__name__ == "Nack":
        return "the broker nacked it (it could not store the message)"
    return _broker_text(exc)


CONNECTION_TYPES: tuple[ConnectionType, ...] = (AMQP,)
NODE_TYPES: tuple[type[NodeType], ...] = (AmqpPublishNode,)
