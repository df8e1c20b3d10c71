"""amqp.publish and the amqp connection type against the RabbitMQ on this machine."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from flomation.engine.egress import AddressPolicy
from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import (
    AuthenticationError,
    BlockedError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    ServiceError,
)
from flomation.integrations.amqp import AmqpPublishNode
from flomation.integrations.registry import connection_types
from tests.integrations.common import free_port, unique
from tests.integrations.msg_fixtures import (
    AMQP_PASSWORD,
    AMQP_URL,
    connection,
    run_node,
    single_node_flow,
)

GOOD = {"url": AMQP_URL, "password": AMQP_PASSWORD}
WAIT_S = 5.0


@pytest.fixture
async def channel() -> AsyncIterator[AbstractChannel]:
    """The test's own consumer side."""
    conn = await aio_pika.connect(f"amqp://guest:{AMQP_PASSWORD}@127.0.0.1:5672/")
    channel = await conn.channel()
    yield channel
    await conn.close()


@pytest.fixture
async def queue(channel: AbstractChannel) -> AbstractQueue:
    return await channel.declare_queue(unique("q"), exclusive=True)


async def receive(queue: AbstractQueue) -> AbstractIncomingMessage:
    message = await queue.get(timeout=WAIT_S, fail=True)
    assert message is not None
    await message.ack()
    return message


async def publish(config: dict[str, Any], values: dict[str, Any] = GOOD) -> Any:
    outcome = await run_node(
        AmqpPublishNode(), {"connection": "c", **config}, connection("amqp", values)
    )
    return outcome.output


async def test_a_json_body_reaches_the_queue_with_its_headers(queue: AbstractQueue) -> None:
    output = await publish(
        {
            "routing_key": queue.name,
            "body": {"order": 42, "items": ["a", "b"]},
            "headers": {"x-tenant": "acme", "attempt": 2, "urgent": True},
            "message_id": "m-1",
        }
    )
    assert output == {"published": True}
    message = await receive(queue)
    assert json.loads(message.body) == {"order": 42, "items": ["a", "b"]}
    assert message.content_type == "application/json"
    assert message.headers == {"x-tenant": "acme", "attempt": "2", "urgent": "true"}
    assert message.message_id == "m-1"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT


async def test_a_text_body_through_a_topic_exchange(
    channel: AbstractChannel, queue: AbstractQueue
) -> None:
    exchange = await channel.declare_exchange(
        unique("x"), aio_pika.ExchangeType.TOPIC, auto_delete=True
    )
    await queue.bind(exchange, "orders.*")
    output = await publish(
        {"exchange": exchange.name, "routing_key": "orders.created", "body": "plain words"}
    )
    assert output == {"published": True}
    message = await receive(queue)
    assert message.body == b"plain words"
    assert message.content_type == "text/plain; charset=utf-8"
    assert message.routing_key == "orders.created"
    assert message.exchange == exchange.name


async def test_a_missing_exchange_is_the_brokers_refusal_and_not_retried() -> None:
    name = unique("missing")
    with pytest.raises(ServiceError) as caught:
        await publish({"exchange": name, "routing_key": "k", "body": "x"})
    assert f"no exchange '{name}'" in caught.value.message
    assert "NOT_FOUND" in caught.value.message
    assert caught.value.retryable is False


async def test_an_unroutable_message_is_refused_and_may_be_retried() -> None:
    # Returned by the broker: nothing was stored, so sending it again is safe.
    with pytest.raises(ServiceError) as caught:
        await publish({"routing_key": unique("nobody"), "body": "x"})
    assert "NO_ROUTE" in caught.value.message
    assert caught.value.retryable is True


async def test_without_mandatory_an_unroutable_message_is_dropped_by_the_broker() -> None:
    output = await publish({"routing_key": unique("nobody"), "body": "x", "mandatory": False})
    assert output == {"published": True}


async def test_a_wrong_password_is_an_authentication_error() -> None:
    with pytest.raises(AuthenticationError) as caught:
        await publish({"routing_key": "k", "body": "x"}, {"url": AMQP_URL, "password": "wrong"})
    assert "refused the login" in caught.value.message
    assert "wrong" not in caught.value.message


async def test_an_unreachable_broker_is_a_retryable_connection_error() -> None:
    values = {"url": f"amqp://guest@127.0.0.1:{free_port()}/", "password": AMQP_PASSWORD}
    with pytest.raises(ConnectionFailedError) as caught:
        await publish({"routing_key": "k", "body": "x"}, values)
    assert caught.value.retryable is True
    assert "could not connect" in caught.value.message


async def test_a_password_written_into_the_url_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        await publish({"routing_key": "k"}, {"url": "amqp://guest:guest@127.0.0.1:5672/"})
    assert "password" in caught.value.message


async def test_the_egress_policy_is_checked_before_connecting() -> None:
    services = EngineServices(egress=AddressPolicy.preset("shared_cloud"))
    with pytest.raises(BlockedError):
        await run_node(
            AmqpPublishNode(),
            {"connection": "c", "routing_key": "k", "body": "x"},
            connection("amqp", GOOD),
            services=services,
        )


async def test_a_connection_of_another_type_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        await run_node(
            AmqpPublishNode(),
            {"connection": "c", "routing_key": "k"},
            connection("mqtt", {"host": "127.0.0.1"}),
        )
    assert "'mqtt'" in caught.value.message
    assert "'amqp'" in caught.value.message


async def test_the_probe_opens_a_channel() -> None:
    amqp = connection_types().get("amqp")
    assert amqp is not None
    assert amqp.probe is not None
    message = await amqp.probe(GOOD, EngineServices(), 5)
    assert "RabbitMQ" in message
    assert "127.0.0.1:5672" in message
    with pytest.raises(AuthenticationError):
        await amqp.probe({"url": AMQP_URL, "password": "wrong"}, EngineServices(), 5)


async def test_through_the_engine_the_password_is_masked(queue: AbstractQueue) -> None:
    secret = "not-the-password-" + unique("p")
    doc = single_node_flow(
        "amqp.publish",
        {"connection": "rabbit", "routing_key": queue.name, "body": {"said": "hello"}},
    )
    ok = await run_flow(doc, connections={"rabbit": connection("amqp", GOOD, "rabbit")})
    assert ok["status"] == "succeeded"
    assert ok["output"] == {"published": True}
    assert json.loads((await receive(queue)).body) == {"said": "hello"}

    refused = await run_flow(
        doc,
        connections={"rabbit": connection("amqp", {"url": AMQP_URL, "password": secret}, "rabbit")},
    )
    assert refused["status"] == "failed"
    [step] = [s for s in refused["steps"] if s["node_id"] == "call"]
    assert step["error"]["type"] == "authentication"
    assert secret not in json.dumps(refused)
