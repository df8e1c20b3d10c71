"""NATS JetStream event triggers: a durable pull consumer, one execution per message.

The consumer (`durable`, default `flomation-<trigger id>`) is created on first use with the
trigger's creation time as its start (deliver by start time), so messages stored after the
trigger was created fire even when its consumer starts later. Each message is fetched only
when the flow has room (a pull consumer: nothing waits in Launch), acknowledged after its
execution is committed, and deduplicated by its stream sequence, so a redelivery starts no
second execution. A message held when the consumer stops is nak'ed so it is redelivered at
once; one held by a killed process comes back after `ack_wait_s`. A message that starts no
execution is terminated (`+TERM`: JetStream stops redelivering it and publishes the
`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED` advisory, which a stream can keep as its dead
letter) and counted.
"""

from __future__ import annotations

import json
from typing import Any

from flomation.launch.consumers import ConsumerError, Message
from flomation.launch.sources.base import SourceContext
from flomation.timeutil import isoformat
from flomation.triggers.config import EVENT_BODY_MAX, NatsTriggerConfig
from flomation.triggers.schemas import Fire, TriggerWork

CONNECT_TIMEOUT_S = 10.0


def to_message(work: TriggerWork, stream: str, incoming: Any) -> Message:
    seq = int(incoming.metadata.sequence.stream)
    data: bytes = incoming.data or b""
    if len(data) > EVENT_BODY_MAX:
        why = f"Message {seq} is {len(data)} bytes; at most {EVENT_BODY_MAX} are taken"
        return Message(fire=None, rejected=why, token=incoming)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Message(fire=None, rejected=f"Message {seq} is not UTF-8 text", token=incoming)
    try:
        value: Any = json.loads(text)
    except ValueError:
        value = text
    fire = Fire(
        input={
            "subject": incoming.subject,
            "data": value,
            "headers": dict(incoming.headers or {}),
            "seq": seq,
        },
        dedupe_key=f"nats:{work.id}:{stream}:{seq}"[:300],
        trigger_data={"stream": stream, "seq": seq},
    )
    return Message(fire=fire, token=incoming)


class NatsSubscription:
    def __init__(self, work: TriggerWork, client: Any, pull: Any, stream: str) -> None:
        self.work = work
        self.client = client
        self.pull = pull
        self.stream = stream
        self.held: Any = None  # the message fetched and not yet answered

    async def receive(self, timeout_s: float) -> Message | None:
        import nats.errors

        if self.client.is_closed:
            raise ConsumerError("The NATS connection was lost")
        try:
            [incoming] = await self.pull.fetch(1, timeout=timeout_s)
        except (TimeoutError, nats.errors.TimeoutError):
            return None
        except nats.errors.Error as exc:
            raise ConsumerError(f"NATS stream {self.stream!r}: {exc}") from None
        self.held = incoming
        return to_message(self.work, self.stream, incoming)

    async def ack(self, message: Message) -> None:
        incoming: Any = message.token
        await incoming.ack()
        self.held = None

    async def dead_letter(self, message: Message, reason: str) -> None:
        incoming: Any = message.token
        await incoming.term()
        self.held = None

    async def close(self) -> None:
        try:
            if self.held is not None and not self.client.is_closed:
                await self.held.nak()  # redelivered at once to the trigger's next consumer
        finally:
            await self.client.close()


class NatsEventSource:
    async def subscribe(
        self, work: TriggerWork, values: dict[str, object], context: SourceContext
    ) -> NatsSubscription:
        import nats.errors
        from nats.aio.client import Client
        from nats.js.api import ConsumerConfig, DeliverPolicy
        from yarl import URL

        from flomation.engine.nodes.base import NodeError
        from flomation.integrations.nats import server_urls

        config = work.config
        assert isinstance(config, NatsTriggerConfig)
        try:
            servers = server_urls(values)
        except NodeError as exc:
            raise ConsumerError(str(exc)) from None
        for server in servers:
            url = URL(server)
            await context.egress.resolve(str(url.host), int(url.port or 4222))
        client = Client()
        try:
            await client.connect(
                servers,
                name="flomation-launch",
                connect_timeout=int(CONNECT_TIMEOUT_S),
                allow_reconnect=False,
                max_reconnect_attempts=1,
                token=_text(values.get("token")),
                user=_text(values.get("user")),
                password=_text(values.get("password")),
            )
        except Exception as exc:
            await client.close()
            raise ConsumerError(f"NATS {', '.join(servers)}: could not connect ({exc})") from None
        durable = config.durable or f"flomation-{work.id}"
        start: dict[str, Any] = {"deliver_policy": DeliverPolicy.ALL}
        if work.created_at is not None:
            start = {
                "deliver_policy": DeliverPolicy.BY_START_TIME,
                "opt_start_time": isoformat(work.created_at),
            }
        try:
            pull = await client.jetstream().pull_subscribe(
                config.subject,
                durable=durable,
                stream=config.stream,
                config=ConsumerConfig(ack_wait=config.ack_wait_s, max_ack_pending=1000, **start),
            )
        except nats.errors.Error as exc:
            await client.close()
            raise ConsumerError(f"NATS stream {config.stream!r}: {exc}") from None
        return NatsSubscription(work, client, pull, config.stream)


def _text(value: object) -> str | None:
    return str(value) if value else None
