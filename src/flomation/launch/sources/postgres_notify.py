"""PostgreSQL LISTEN/NOTIFY event triggers: one execution per notification on a channel.

PostgreSQL keeps no notification for a listener that is not connected, and has nothing to
acknowledge or redeliver: a notification sent while no consumer listens (between a lease's
loss and its next holder's LISTEN, or during a reconnect) is lost, and one whose commit the
fence refused is dropped. So this type is at most once; use a queue (amqp, redis_stream)
for events that must not be lost. A notification that starts no execution cannot go to a
dead letter: it is counted (rejected_total) and its reason is the trigger's last_error.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from flomation.launch.consumers import ConsumerError, Message
from flomation.launch.sources.base import SourceContext
from flomation.triggers.config import PostgresNotifyTriggerConfig
from flomation.triggers.schemas import Fire, TriggerWork

CONNECT_TIMEOUT_S = 10.0


def to_message(work: TriggerWork, channel: str, payload: str) -> Message:
    try:
        value: Any = json.loads(payload)
    except ValueError:
        value = payload
    fire = Fire(
        input={"channel": channel, "payload": value},
        # Nothing identifies a notification; there is no redelivery to guard against.
        dedupe_key=f"postgres_notify:{work.id}:{uuid.uuid4().hex}",
        trigger_data={"channel": channel},
    )
    return Message(fire=fire)


class PostgresNotifySubscription:
    def __init__(self, work: TriggerWork, connection: Any, channel: str) -> None:
        self.work = work
        self.connection = connection
        self.channel = channel
        self.inbox: asyncio.Queue[str] = asyncio.Queue()

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self.inbox.put_nowait(payload)

    async def start(self) -> None:
        await self.connection.add_listener(self.channel, self._on_notify)

    async def receive(self, timeout_s: float) -> Message | None:
        if self.connection.is_closed():
            raise ConsumerError("The PostgreSQL connection was lost")
        try:
            payload = await asyncio.wait_for(self.inbox.get(), timeout=timeout_s)
        except TimeoutError:
            return None
        return to_message(self.work, self.channel, payload)

    async def ack(self, message: Message) -> None:
        """Nothing to acknowledge."""

    async def dead_letter(self, message: Message, reason: str) -> None:
        """No dead letter: the rejection is counted in the trigger's state."""

    async def close(self) -> None:
        if not self.connection.is_closed():
            self.connection.terminate()


class PostgresNotifyEventSource:
    async def subscribe(
        self, work: TriggerWork, values: dict[str, object], context: SourceContext
    ) -> PostgresNotifySubscription:
        import asyncpg  # type: ignore[import-untyped]

        from flomation.engine.nodes.base import NodeError
        from flomation.integrations.postgres import DEFAULT_PORT, _connect

        config = work.config
        assert isinstance(config, PostgresNotifyTriggerConfig)
        host = str(values.get("host") or "")
        if host and not host.startswith("/"):
            port = values.get("port") or DEFAULT_PORT
            await context.egress.resolve(host, int(port) if isinstance(port, int | str) else 0)
        try:
            connection = await _connect(values, CONNECT_TIMEOUT_S)
        except NodeError as exc:
            raise ConsumerError(str(exc)) from None
        subscription = PostgresNotifySubscription(work, connection, config.channel)
        try:
            await subscription.start()
        except asyncpg.PostgresError as exc:
            connection.terminate()
            raise ConsumerError(f"LISTEN {config.channel!r}: {exc}") from None
        return subscription
