"""MQTT event triggers: a persistent MQTT 5 session subscribed to a topic, one execution per
message.

The session's client id is fixed per trigger (`flomation-<trigger id>`) and outlives the
connection (session expiry of a day), so the broker keeps the subscription and every QoS 1/2
message not yet acknowledged while no consumer is connected, and gives them to the trigger's
next holder (a second client with the same id takes the session over: the broker itself
fences two consumers). Acknowledgements are manual: PUBACK is sent after the execution is
committed. The broker bounds what it sends unacknowledged (its receive maximum), which is
the back-pressure while the flow is full. MQTT has no dead letter: a message that starts no
execution is acknowledged and counted. Deduplication needs an id from the publisher: an MQTT 5
user property `message_id` (or `message-id`); a message without one is delivered at least
once.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from flomation.launch.consumers import ConsumerError, Message
from flomation.launch.sources.base import SourceContext
from flomation.triggers.config import EVENT_BODY_MAX, MqttTriggerConfig
from flomation.triggers.schemas import Fire, TriggerWork

CONNECT_TIMEOUT_S = 10.0
SESSION_EXPIRY_S = 86400


def _message_id(incoming: Any) -> str | None:
    for name, value in getattr(incoming.properties, "UserProperty", None) or []:
        if name in ("message_id", "message-id"):
            return str(value)
    return None


def to_message(work: TriggerWork, incoming: Any) -> Message:
    payload = bytes(incoming.payload or b"")
    if len(payload) > EVENT_BODY_MAX:
        why = f"The payload is {len(payload)} bytes; at most {EVENT_BODY_MAX} are taken"
        return Message(fire=None, rejected=why, token=incoming)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return Message(fire=None, rejected="The payload is not UTF-8 text", token=incoming)
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    topic = str(incoming.topic)
    ident = _message_id(incoming) or f"unidentified:{uuid.uuid4().hex}"
    fire = Fire(
        input={"topic": topic, "payload": value, "qos": incoming.qos, "retain": incoming.retain},
        dedupe_key=f"mqtt:{work.id}:{ident}"[:300],
        trigger_data={"topic": topic},
    )
    return Message(fire=fire, token=incoming)


class MqttSubscription:
    def __init__(self, work: TriggerWork, client: Any) -> None:
        self.work = work
        self.client = client
        self.iterator = client.messages.__aiter__()

    async def receive(self, timeout_s: float) -> Message | None:
        import aiomqtt

        try:
            incoming = await asyncio.wait_for(self.iterator.__anext__(), timeout=timeout_s)
        except TimeoutError:
            return None
        except aiomqtt.MqttError as exc:
            raise ConsumerError(f"MQTT connection lost: {exc}") from None
        return to_message(self.work, incoming)

    async def ack(self, message: Message) -> None:
        incoming: Any = message.token
        if incoming.qos > 0:
            self.client._client.ack(incoming.mid, incoming.qos)

    async def dead_letter(self, message: Message, reason: str) -> None:
        await self.ack(message)  # MQTT has no dead letter: counted in the trigger's state

    async def close(self) -> None:
        # What was not acknowledged stays in the session for the next consumer.
        await self.client.__aexit__(None, None, None)


class MqttEventSource:
    async def subscribe(
        self, work: TriggerWork, values: dict[str, object], context: SourceContext
    ) -> MqttSubscription:
        import ssl

        import aiomqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        config = work.config
        assert isinstance(config, MqttTriggerConfig)
        host = str(values.get("host") or "")
        port = int(str(values.get("port") or (8883 if values.get("tls") else 1883)))
        if not host:
            raise ConsumerError("The MQTT connection has no host")
        await context.egress.resolve(host, port)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        client = aiomqtt.Client(
            host,
            port,
            username=str(values.get("username") or "") or None,
            password=str(values.get("password") or "") or None,
            identifier=f"flomation-{work.id}",
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=properties,
            tls_context=ssl.create_default_context() if values.get("tls") else None,
            timeout=CONNECT_TIMEOUT_S,
        )
        # PUBACK only once the execution is committed (paho acknowledges on receipt otherwise).
        client._client.manual_ack_set(True)
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise ConsumerError(f"MQTT broker {host}:{port}: could not connect ({exc})") from None
        try:
            await client.subscribe(config.topic, qos=config.qos)
        except aiomqtt.MqttError as exc:
            await client.__aexit__(None, None, None)
            raise ConsumerError(f"MQTT subscribe to {config.topic!r}: {exc}") from None
        return MqttSubscription(work, client)
