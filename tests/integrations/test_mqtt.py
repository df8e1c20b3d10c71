"""mqtt.publish and the mqtt connection type against the Mosquitto on this machine (and one
with passwords started for these tests)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt
import pytest

from flomation.engine.egress import AddressPolicy
from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import (
    AuthenticationError,
    BlockedError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
)
from flomation.integrations.mqtt import MqttPublishNode
from flomation.integrations.registry import connection_types
from tests.integrations.common import free_port, unique
from tests.integrations.msg_fixtures import (
    MQTT_HOST,
    MQTT_PORT,
    PasswordBroker,
    connection,
    mosquitto_with_password,
    run_node,
    single_node_flow,
)

__all__ = ["mosquitto_with_password"]  # a fixture these tests use

SHARED = {"host": MQTT_HOST, "port": MQTT_PORT}
WAIT_S = 5.0


@pytest.fixture
async def subscriber() -> AsyncIterator[tuple[aiomqtt.Client, str]]:
    """A client of the test's own, subscribed to a topic no other test uses."""
    topic = f"flomation/test/{unique('t')}"
    async with aiomqtt.Client(MQTT_HOST, MQTT_PORT, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe(topic, qos=2)
        yield client, topic


async def next_message(client: aiomqtt.Client) -> aiomqtt.Message:
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            return message
    raise AssertionError("no message")


async def publish(config: dict[str, Any], values: dict[str, Any] = SHARED) -> Any:
    outcome = await run_node(
        MqttPublishNode(), {"connection": "c", **config}, connection("mqtt", values)
    )
    return outcome.output


@pytest.mark.parametrize("qos", [0, 1, 2])
async def test_a_json_body_arrives_with_its_headers(
    subscriber: tuple[aiomqtt.Client, str], qos: int
) -> None:
    client, topic = subscriber
    output = await publish(
        {"topic": topic, "qos": qos, "body": {"temp": 21.5}, "headers": {"site": "lyon", "n": 3}}
    )
    assert output == {"published": True}
    message = await next_message(client)
    assert str(message.topic) == topic
    assert isinstance(message.payload, bytes)
    assert json.loads(message.payload) == {"temp": 21.5}
    assert message.properties is not None
    # paho sets the properties a packet carries as attributes of their own names.
    assert getattr(message.properties, "ContentType") == "application/json"  # noqa: B009
    assert sorted(getattr(message.properties, "UserProperty")) == [  # noqa: B009
        ("n", "3"),
        ("site", "lyon"),
    ]


async def test_a_retained_message_reaches_a_later_subscriber() -> None:
    topic = f"flomation/test/{unique('retained')}"
    await publish({"topic": topic, "body": "last value", "retain": True})
    try:
        async with aiomqtt.Client(MQTT_HOST, MQTT_PORT) as client:
            await client.subscribe(topic, qos=1)
            message = await next_message(client)
        assert message.payload == b"last value"
        assert message.retain is True
    finally:
        await publish({"topic": topic, "body": "", "retain": True})  # clears the retained one


async def test_mqtt_3_1_1_publishes_but_takes_no_headers(
    subscriber: tuple[aiomqtt.Client, str],
) -> None:
    client, topic = subscriber
    old = {**SHARED, "protocol": "3.1.1"}
    assert await publish({"topic": topic, "body": "v3"}, old) == {"published": True}
    assert (await next_message(client)).payload == b"v3"
    with pytest.raises(ConfigError) as caught:
        await publish({"topic": topic, "body": "v3", "headers": {"a": "b"}}, old)
    assert caught.value.field == "headers"


async def test_a_wildcard_topic_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        await publish({"topic": "sensors/+/temp", "body": "x"})
    assert "wildcards" in caught.value.message


async def test_a_broker_with_passwords_takes_the_right_one_and_refuses_others(
    mosquitto_with_password: PasswordBroker,
) -> None:
    broker = mosquitto_with_password
    values = {
        "host": broker.host,
        "port": broker.port,
        "username": broker.username,
        "password": broker.password,
    }
    assert await publish({"topic": "a/b", "body": "x"}, values) == {"published": True}
    with pytest.raises(AuthenticationError) as caught:
        await publish({"topic": "a/b", "body": "x"}, {**values, "password": "wrong"})
    assert "refused the connection's credentials" in caught.value.message
    assert caught.value.retryable is False


async def test_an_unreachable_broker_is_a_retryable_connection_error() -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        await publish({"topic": "a/b", "body": "x"}, {"host": "127.0.0.1", "port": free_port()})
    assert caught.value.retryable is True


async def test_the_egress_policy_is_checked_before_connecting() -> None:
    with pytest.raises(BlockedError):
        await run_node(
            MqttPublishNode(),
            {"connection": "c", "topic": "a/b"},
            connection("mqtt", SHARED),
            services=EngineServices(egress=AddressPolicy.preset("shared_cloud")),
        )


async def test_the_probe_connects(mosquitto_with_password: PasswordBroker) -> None:
    mqtt = connection_types().get("mqtt")
    assert mqtt is not None
    assert mqtt.probe is not None
    assert "connected" in await mqtt.probe(SHARED, EngineServices(), 5)
    broker = mosquitto_with_password
    with pytest.raises(AuthenticationError):
        await mqtt.probe(
            {"host": broker.host, "port": broker.port, "username": "alice", "password": "no"},
            EngineServices(),
            5,
        )


async def test_through_the_engine_the_password_is_masked(
    mosquitto_with_password: PasswordBroker,
) -> None:
    broker = mosquitto_with_password
    values = {"host": broker.host, "port": broker.port, "username": broker.username}
    doc = single_node_flow("mqtt.publish", {"connection": "mq", "topic": "x/y", "body": "hi"})
    ok = await run_flow(
        doc, connections={"mq": connection("mqtt", {**values, "password": broker.password}, "mq")}
    )
    assert ok["status"] == "succeeded", ok["error"]
    assert broker.password not in json.dumps(ok)
    wrong = "wrong-" + unique("pw")
    refused = await run_flow(
        doc, connections={"mq": connection("mqtt", {**values, "password": wrong}, "mq")}
    )
    assert refused["status"] == "failed"
    [step] = [s for s in refused["steps"] if s["node_id"] == "call"]
    assert step["error"]["type"] == "authentication"
    assert wrong not in json.dumps(refused)
