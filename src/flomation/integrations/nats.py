"""The nats integration (NATS and JetStream, through nats-py): the `nats` connection type and
the `nats.publish` node (rules in `integrations.base`).

A publish to a subject that a JetStream stream listens on is a JetStream publish, acknowledged
by the stream with its sequence number (`{"stream", "seq"}`); any other subject gets a core
publish, confirmed by a round trip to the server (`{"published": true}`). `mode` forces one.
A JetStream publish that got no acknowledgement is retried only with a `msg_id`, which the
stream uses to drop the duplicate; a core publish once sent is never repeated."""

from __future__ import annotations

import asyncio
import contextlib
import math
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
    from nats.aio.client import Client as NatsClient

__all__ = ["CONNECTION_TYPES", "NATS", "NODE_TYPES", "NatsPublishNode", "server_urls"]

# How long `auto` waits for JetStream to say which stream takes a subject: one round trip.
LOOKUP_TIMEOUT_S = 5.0


def server_urls(values: Mapping[str, Any]) -> list[str]:
    """The connection's servers as URLs (`servers` is one URL, a comma-separated list, or a
    list); a bare host:port gets `nats://`."""
    raw = values.get("servers")
    items = raw if isinstance(raw, list) else str(raw or "").split(",")
    urls = [str(item).strip() for item in items if str(item).strip()]
    if not urls:
        raise ConfigError("the connection names no NATS server", field="connection")
    return [url if "://" in url else f"nats://{url}" for url in urls]


class _Session:
    """One NATS connection for one node run, keeping the errors the client reports on the
    side (a refused login, a permissions violation on publish) so they can be told apart."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.client: NatsClient | None = None
        # Set when the server refuses this user the JetStream API, which it says only on the
        # side (a request it refuses gets no answer at all).
        self.jetstream_denied = asyncio.Event()

    async def _on_error(self, exc: BaseException) -> None:
        self.errors.append(exc)
        if "$js.api" in str(exc).lower():
            self.jetstream_denied.set()

    def last_error(self) -> str:
        return str(self.errors[-1]) if self.errors else ""

    async def open(
        self, values: Mapping[str, Any], services: EngineServices, timeout_s: float
    ) -> NatsClient:
        from nats.aio.client import Client
        from yarl import URL

        servers = server_urls(values)
        for server in servers:
            url = URL(server)
            await check_egress(services.egress, url.scheme, str(url.host), int(url.port or 4222))
        self.client = client = Client()
        try:
            async with asyncio.timeout(timeout_s):
                await client.connect(
                    servers,
                    name="flomation",
                    # Whole seconds (annotated int); the block above bounds it exactly.
                    connect_timeout=max(1, math.ceil(timeout_s)),
                    allow_reconnect=False,
                    # 0 would mean "no limit" to the initial connect's walk of the pool.
                    max_reconnect_attempts=1,
                    error_cb=self._on_error,
                    token=values.get("token") or None,
                    user=values.get("user") or None,
                    password=values.get("password") or None,
                )
        except Exception as exc:
            # A refused connect leaves its socket open: close it before saying why.
            await self.close()
            where = "NATS server " + ", ".join(_shown(server) for server in servers)
            raise self._connect_error(where, exc, timeout_s) from None
        except BaseException:
            await self.close()
            raise
        return client

    def _connect_error(self, where: str, exc: Exception, timeout_s: float) -> Exception:
        import nats.errors

        if isinstance(exc, TimeoutError):
            return ConnectionFailedError(f"{where}: could not connect within {timeout_s:g} s")
        if isinstance(exc, nats.errors.NoServersError):
            said = self.last_error() or "no server answered"
            return ConnectionFailedError(f"{where}: could not connect ({said})")
        text = str(exc) or type(exc).__name__
        if "authorization" in text.lower() or "authentication" in text.lower():
            return AuthenticationError(f"{where} refused the connection's credentials: {text}")
        if isinstance(exc, OSError):
            return ConnectionFailedError(f"{where}: could not connect ({text})")
        return ConnectionFailedError(f"{where}: {text}")

    async def close(self) -> None:
        if self.client is not None and not self.client.is_closed:
            # The server may have stopped answering; the socket goes with the client.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PROBE_TIMEOUT_S):
                    await self.client.close()


def _shown(server: str) -> str:
    """A server URL without credentials written into it."""
    from yarl import URL

    url = URL(server)
    return str(url.with_user(None)) if url.user or url.password else server


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    budget = min(timeout_s, PROBE_TIMEOUT_S)
    session = _Session()
    client = await session.open(values, services, budget)
    try:
        info = client._server_info  # what the server sent on connect (version, JetStream)
        url = client.connected_url
        where = f"{url.hostname}:{url.port}" if url is not None else "the server"
        jetstream = " with JetStream" if info.get("jetstream") else ""
        return f"connected to NATS {info.get('version', '')}{jetstream} at {where}"
    finally:
        await session.close()


NATS = ConnectionType(
    type="nats",
    title="NATS",
    icon="send",
    description="A NATS server or cluster (JetStream streams included).",
    probe=probe,
    schema={
        "type": "object",
        "properties": {
            "servers": {
                "title": "Servers",
                "description": "nats://host:4222 (tls:// for TLS); several, comma-separated.",
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ],
            },
            "token": {"type": "string", "title": "Token", "x-secret": True},
            "user": {"type": "string", "title": "User"},
            "password": PASSWORD_PROPERTY,
        },
        "required": ["servers"],
        "additionalProperties": False,
    },
)


class NatsPublishNode(IntegrationNode):
    type = "nats.publish"
    title = "Publish to NATS"
    description = (
        "Publishes one message on a NATS subject; a subject a JetStream stream takes is "
        "published to the stream and acknowledged with its sequence number."
    )
    icon = "send"
    group = "nats"
    connection_types: ClassVar[tuple[str, ...]] = ("nats",)
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "subject": {"type": "string", "title": "Subject", "minLength": 1},
            "body": BODY_PROPERTY,
            "headers": HEADERS_PROPERTY,
            "mode": {
                "enum": ["auto", "core", "jetstream"],
                "default": "auto",
                "description": "auto: JetStream when a stream takes the subject, else core.",
            },
            "stream": {
                "type": "string",
                "description": "JetStream: the stream expected to take the message.",
            },
            "msg_id": {
                "type": "string",
                "description": "JetStream: drops a second message with this id (safe retries).",
            },
            "timeout_s": TIMEOUT_PROPERTY,
        },
        "required": ["connection", "subject"],
        "additionalProperties": False,
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "published": {"const": True},
            "stream": {"type": "string"},
            "seq": {"type": "integer"},
            "duplicate": {"type": "boolean"},
        },
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        values = self.connect(ctx).values
        config = ctx.config
        subject = str(config["subject"])
        if any(token in ("*", ">") for token in subject.split(".")) or " " in subject:
            raise ConfigError(
                f"cannot publish to {subject!r}: wildcards (*, >) and spaces are for subscribing",
                field="subject",
            )
        body, content_type = encode_body(config.get("body"))
        headers = {"Content-Type": content_type, **header_strings(config.get("headers"))}
        budget = time_budget_s(ctx)
        session = _Session()
        client = await session.open(values, ctx.services, budget)
        try:
            stream = await _stream_for(session, client, subject, config, budget)
            if stream is None:
                output = await _core_publish(session, client, subject, body, headers, budget)
            else:
                output = await _jetstream_publish(
                    client, subject, body, headers, stream, config, budget
                )
        finally:
            await session.close()
        return NodeOutcome(output)


async def _stream_for(
    session: _Session,
    client: NatsClient,
    subject: str,
    config: Mapping[str, Any],
    timeout_s: float,
) -> str | None:
    """The stream to publish to, or None for a core publish."""
    import nats.errors
    import nats.js.errors

    mode = config.get("mode", "auto")
    if mode == "core":
        return None
    expected = config.get("stream") or None
    if mode == "jetstream":
        return str(expected or "")
    wait_s = min(timeout_s, LOOKUP_TIMEOUT_S)
    lookup = asyncio.ensure_future(
        client.jetstream(timeout=wait_s).find_stream_name_by_subject(subject)
    )
    denied = asyncio.ensure_future(session.jetstream_denied.wait())
    try:
        await asyncio.wait({lookup, denied}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (lookup, denied):
            task.cancel()
        await asyncio.gather(lookup, denied, return_exceptions=True)
    if lookup.done() and not lookup.cancelled():
        try:
            found: str = lookup.result()
        except nats.js.errors.NotFoundError:
            return None
        except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError):
            return None  # no JetStream on this server or account: a core subject
        except TimeoutError:
            found = ""
        except nats.js.errors.APIError as exc:
            raise ServiceError(
                f"NATS JetStream could not say which stream takes {subject!r}: "
                f"{exc.description or exc}"
            ) from None
        if found:
            # An expected stream that is not the one found is for JetStream to refuse.
            return str(expected or found)
    if session.jetstream_denied.is_set():
        # A user who may not ask JetStream: for them every subject is a core subject.
        return None
    raise ConnectionFailedError(
        f"NATS: JetStream did not say within {wait_s:g} s which stream takes "
        f"{subject!r} (nothing was published)"
    )


async def _core_publish(
    session: _Session,
    client: NatsClient,
    subject: str,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
) -> dict[str, Any]:
    import nats.errors

    try:
        async with asyncio.timeout(timeout_s):
            await client.publish(subject, body, headers=headers)
            # The server answers the flush's PING after it has processed the message, and
            # reports a permissions violation before that answer.
            # nats-py's flush takes whole seconds (annotated int); the block bounds it.
            await client.flush(timeout=max(1, math.ceil(timeout_s)))
    except (nats.errors.FlushTimeoutError, TimeoutError):
        raise NodeTimeoutError(
            f"NATS server did not confirm the message on {subject!r} within {timeout_s:g} s; "
            "it may have been delivered, so it is not sent again",
            retryable=False,
        ) from None
    except nats.errors.Error as exc:
        raise ServiceError(f"NATS publish to {subject!r} failed: {exc}") from None
    # The server names the subject it refused (lower-cased by nats-py), in quotes; earlier
    # refusals of the session (the JetStream API) are not this publish's.
    named = f'"{subject.lower()}"'
    refused = [
        e
        for e in session.errors
        if "permissions violation" in str(e).lower() and named in str(e).lower()
    ]
    if refused:
        raise ServiceError(f"NATS server refused the publish to {subject!r}: {refused[-1]}")
    return {"published": True}


async def _jetstream_publish(
    client: NatsClient,
    subject: str,
    body: bytes,
    headers: dict[str, str],
    stream: str,
    config: Mapping[str, Any],
    timeout_s: float,
) -> dict[str, Any]:
    import nats.errors
    import nats.js.errors

    msg_id = config.get("msg_id")
    if msg_id:
        headers = {**headers, "Nats-Msg-Id": str(msg_id)}
    try:
        ack = await client.jetstream(timeout=timeout_s).publish(
            subject, body, timeout=timeout_s, stream=stream or None, headers=headers
        )
    except (nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError):
        # Nobody took the request: no stream stored the message.
        raise ServiceError(
            f"NATS: no JetStream stream takes {subject!r}", field="subject", retryable=True
        ) from None
    except nats.js.errors.APIError as exc:
        # JetStream refused the message, so it stored nothing; a full or unavailable
        # store may take it later.
        raise ServiceError(
            f"NATS JetStream refused the message on {subject!r}: "
            f"{exc.description or exc} (code {exc.err_code or exc.code})",
            retryable=exc.code == 503,
        ) from None
    except (nats.errors.TimeoutError, TimeoutError):
        raise NodeTimeoutError(
            f"NATS JetStream did not acknowledge the message on {subject!r} within "
            f"{timeout_s:g} s"
            + (
                "; its msg_id lets the stream drop a repeat"
                if msg_id
                else "; it may have been stored, and without a msg_id it is not sent again"
            ),
            retryable=bool(msg_id),
        ) from None
    return {"stream": ack.stream, "seq": ack.seq, "duplicate": bool(ack.duplicate)}


CONNECTION_TYPES: tuple[ConnectionType, ...] = (NATS,)
NODE_TYPES: tuple[type[NodeType], ...] = (NatsPublishNode,)
