"""AMQP event triggers (RabbitMQ, through aio-pika): consume a queue, one execution per
message.

The channel's prefetch (`prefetch`) bounds what the broker hands over unacknowledged, so a
consumer whose flow is full holds at most that many while the rest wait in the queue. A
message is acknowledged after its execution is committed; one that starts no execution is
rejected with requeue=False, so a dead-letter exchange configured on the queue
(`x-dead-letter-exchange`) takes it (without one, the broker drops it; it is still counted).
The dedupe key is the message's `message_id`: a redelivered message with one starts no second
execution; a message without one is executed at least once (nothing identifies it).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from flomation.launch.consumers import ConsumerError, Message
from flomation.launch.sources.base import SourceContext
from flomation.triggers.config import EVENT_BODY_MAX, AmqpTriggerConfig
from flomation.triggers.schemas import Fire, TriggerWork

CONNECT_TIMEOUT_S = 10.0


def decode_body(body: bytes, content_type: str | None) -> tuple[Any, str | None]:
    """The body as the flow sees it: JSON when it parses as JSON, else text; (None, why) when
    it is neither."""
    if len(body) > EVENT_BODY_MAX:
        return None, f"The message body is {len(body)} bytes; at most {EVENT_BODY_MAX} are taken"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "The message body is not UTF-8 text"
    try:
        return json.loads(text), None
    except ValueError:
        if content_type is not None and "json" in content_type:
            return None, "The message body is declared JSON but is not valid JSON"
    return text, None


def _header(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {str(k): _header(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_header(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def to_message(work: TriggerWork, incoming: Any) -> Message:
    body, why = decode_body(bytes(incoming.body), incoming.content_type)
    if why is not None:
        return Message(fire=None, rejected=why, token=incoming)
    message_id = incoming.message_id
    # Without a message id nothing identifies a redelivery (delivery tags restart with each
    # channel): such a message is delivered at least once.
    dedupe = message_id or f"unidentified:{uuid.uuid4().hex}"
    fire = Fire(
        input={
            "body": body,
            "headers": _header(dict(incoming.headers or {})),
            "routing_key": incoming.routing_key,
            "exchange": incoming.exchange,
            "message_id": message_id,
        },
        dedupe_key=f"amqp:{work.id}:{dedupe}"[:300],
        trigger_data={"queue": getattr(work.config, "queue", None), "message_id": message_id},
    )
    return Message(fire=fire, token=incoming)


class AmqpSubscription:
    def __init__(self, work: TriggerWork, connection: Any, channel: Any) -> None:
        self.work = work
        self.connection = connection
        self.channel = channel
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.tag: str | None = None

    async def start(self, queue_name: str) -> None:
        queue = await self.channel.get_queue(queue_name, ensure=True)
        self.tag = await queue.consume(self.inbox.put, no_ack=False)

    async def receive(self, timeout_s: float) -> Message | None:
        if self.connection.is_closed:
            raise ConsumerError("The AMQP connection was lost")
        try:
            incoming = await asyncio.wait_for(self.inbox.get(), timeout=timeout_s)
        except TimeoutError:
            return None
        return to_message(self.work, incoming)

    async def ack(self, message: Message) -> None:
        await _token(message).ack()

    async def dead_letter(self, message: Message, reason: str) -> None:
        await _token(message).reject(requeue=False)

    async def close(self) -> None:
        # Closing the channel hands every unacknowledged message back to the queue.
        await self.connection.close()


def _token(message: Message) -> Any:
    return message.token


class AmqpEventSource:
    async def subscribe(
        self, work: TriggerWork, values: dict[str, object], context: SourceContext
    ) -> AmqpSubscription:
        import aio_pika
        import aiormq.exceptions
        from yarl import URL

        from flomation.engine.nodes.base import NodeError
        from flomation.integrations.amqp import amqp_url

        config = work.config
        assert isinstance(config, AmqpTriggerConfig)
        try:
            url = URL(amqp_url(values))
        except NodeError as exc:
            raise ConsumerError(str(exc)) from None
        port = url.explicit_port or (5671 if url.scheme == "amqps" else 5672)
        await context.egress.resolve(str(url.host), port)
        try:
            connection = await aio_pika.connect(str(url), timeout=CONNECT_TIMEOUT_S)
        except (aiormq.exceptions.AMQPError, OSError, TimeoutError) as exc:
            raise ConsumerError(
                f"AMQP broker {url.host}:{port}: could not connect ({exc})"
            ) from None
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=config.prefetch)
            subscription = AmqpSubscription(work, connection, channel)
            await subscription.start(config.queue)
        except aiormq.exceptions.AMQPError as exc:
            await connection.close()
            raise ConsumerError(f"AMQP queue {config.queue!r}: {exc}") from None
        return subscription
