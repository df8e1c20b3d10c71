"""Redis stream event triggers: a consumer group on a stream, one execution per entry.

The group is created (with the stream, MKSTREAM) at the trigger's creation time as a stream
id (`<created ms>-0`), so entries added after the trigger was created fire even when its
consumer starts later, and older ones do not. The consumer's name is fixed per trigger, so an
instance taking the lease over first reads what the previous holder took and did not
acknowledge (its pending entries), then new ones. An entry is acknowledged (XACK) after its
execution is committed; its dedupe key is the stream and entry id, so a pending entry read
again starts no second execution. An entry that starts no execution is copied to
`<stream>:dead` (its fields, with `_id`, `_reason` and `_trigger`) and acknowledged, in one
MULTI/EXEC.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flomation.launch.consumers import ConsumerError, Message
from flomation.launch.sources.base import SourceContext
from flomation.triggers.config import EVENT_BODY_MAX, RedisStreamTriggerConfig
from flomation.triggers.schemas import Fire, TriggerWork

CONNECT_TIMEOUT_S = 10.0
DEAD_SUFFIX = ":dead"


def to_message(work: TriggerWork, stream: str, entry_id: bytes, raw: Any) -> Message:
    ident = entry_id.decode()
    if raw is None:
        # Listed as pending but trimmed from the stream since: nothing left to run.
        return Message(
            fire=None, rejected=f"Entry {ident} was deleted from the stream", token=ident
        )
    size = sum(len(k) + len(v) for k, v in raw.items())
    if size > EVENT_BODY_MAX:
        why = f"Entry {ident} is {size} bytes; at most {EVENT_BODY_MAX} are taken"
        return Message(fire=None, rejected=why, token=(ident, raw))
    try:
        fields = {k.decode(): v.decode() for k, v in raw.items()}
    except UnicodeDecodeError:
        why = f"Entry {ident} has fields that are not UTF-8 text"
        return Message(fire=None, rejected=why, token=(ident, raw))
    fire = Fire(
        input={"id": ident, "fields": fields},
        dedupe_key=f"redis_stream:{work.id}:{stream}:{ident}"[:300],
        trigger_data={"stream": stream, "id": ident},
    )
    return Message(fire=fire, token=(ident, raw))


class RedisStreamSubscription:
    def __init__(self, work: TriggerWork, client: Any, config: RedisStreamTriggerConfig) -> None:
        self.work = work
        self.client = client
        self.stream = config.stream
        self.group = config.group
        self.consumer = f"flomation-{work.id}"
        # Our pending entries first (from "0", advancing), then new ones (">").
        self.position: str = "0"

    async def receive(self, timeout_s: float) -> Message | None:
        from redis import exceptions

        block = None if self.position != ">" else max(1, int(timeout_s * 1000))
        try:
            answer = await self.client.xreadgroup(
                self.group, self.consumer, {self.stream: self.position}, count=1, block=block
            )
        except (exceptions.ConnectionError, exceptions.TimeoutError) as exc:
            raise ConsumerError(f"Redis stream {self.stream!r}: connection lost ({exc})") from None
        except exceptions.ResponseError as exc:
            raise ConsumerError(f"Redis stream {self.stream!r}: {exc}") from None
        entries = answer[0][1] if answer else []
        if not entries:
            if self.position != ">":
                self.position = ">"  # no pending entry left
            return None
        entry_id, raw = entries[0]
        if self.position != ">":
            self.position = entry_id.decode()
        return to_message(self.work, self.stream, entry_id, raw)

    async def ack(self, message: Message) -> None:
        await self.client.xack(self.stream, self.group, _ident(message))

    async def dead_letter(self, message: Message, reason: str) -> None:
        ident = _ident(message)
        raw = message.token[1] if isinstance(message.token, tuple) else {}
        fields = {**raw, "_id": ident, "_reason": reason[:1000], "_trigger": self.work.id}
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(self.stream + DEAD_SUFFIX, fields)
            pipe.xack(self.stream, self.group, ident)
            await pipe.execute()

    async def close(self) -> None:
        # Unacknowledged entries stay pending for this trigger's consumer name.
        await self.client.aclose()


def _ident(message: Message) -> str:
    token = message.token
    return str(token[0] if isinstance(token, tuple) else token)


class RedisStreamEventSource:
    async def subscribe(
        self, work: TriggerWork, values: dict[str, object], context: SourceContext
    ) -> RedisStreamSubscription:
        from redis import exceptions

        from flomation.engine.nodes.base import NodeError
        from flomation.integrations.redis import _connect

        config = work.config
        assert isinstance(config, RedisStreamTriggerConfig)
        parts = urlsplit(str(values.get("url", "")))
        if parts.hostname:
            await context.egress.resolve(parts.hostname, parts.port or 6379)
        try:
            client = await _connect(values, CONNECT_TIMEOUT_S)
        except NodeError as exc:
            raise ConsumerError(str(exc)) from None
        start = "$"
        if work.created_at is not None:
            start = f"{int(work.created_at.timestamp() * 1000)}-0"
        try:
            await client.xgroup_create(config.stream, config.group, id=start, mkstream=True)
        except exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                await client.aclose()
                raise ConsumerError(f"Redis stream {config.stream!r}: {exc}") from None
        return RedisStreamSubscription(work, client, config)
