"""The redis integration: the `redis` connection type (probe `PING`) and the `redis.command`
node, through redis-py's asyncio client (rules in `integrations.base`).

A command and its arguments travel as one RESP array, each argument its own bulk string, so a
value from a flow can never become a second command. Every command is allowed except those
that turn the connection into a stream a single answer cannot hold (SUBSCRIBE, MONITOR, ...):
those are refused with a `ConfigError` naming them. What a flow may do on the server is the
connection's business: give it a Redis ACL user limited to the commands and keys it needs.

redis-py's own retries are off: a command that timed out or lost its connection may have run,
so repeating it (an INCR, an LPUSH) is the flow's decision (`retry`), not the client's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flomation.engine.event_values import EVENT_VALUE_LIMIT
from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeContext,
    NodeError,
    NodeOutcome,
    NodeTimeoutError,
    NodeType,
    ResultTooLargeError,
    ServiceError,
)
from flomation.integrations._sql import json_safe_value
from flomation.integrations.base import (
    PASSWORD_PROPERTY,
    ConnectionType,
    IntegrationNode,
    connection_property,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["CONNECTION_TYPES", "NODE_TYPES", "REFUSED_COMMANDS", "RedisCommandNode", "probe"]

DEFAULT_TIMEOUT_S = 30.0
# Commands after which the connection no longer answers one reply per request.
REFUSED_COMMANDS = frozenset(
    {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MONITOR", "SYNC", "PSYNC", "REPLCONF", "QUIT"}
)
# Answers that say the server is busy for a moment and the command did not run.
RETRYABLE_PREFIXES = ("LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN")
# A command and at most one subcommand (CONFIG GET, XINFO STREAM), separated by one space.
_COMMAND = re.compile(r"^[A-Za-z][A-Za-z0-9_.|-]*( [A-Za-z][A-Za-z0-9_.|-]*)?$")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Redis",
    "properties": {
        "url": {
            "type": "string",
            "title": "URL",
            "pattern": "^rediss?://",
            "description": "redis://[user@]host:port/db, or rediss:// for TLS. Put the "
            "password in its own field, where it is kept secret.",
        },
        "password": PASSWORD_PROPERTY,
    },
    "required": ["url"],
    "additionalProperties": False,
}


# --------------------------------------------------------------------------- connecting


def _where(values: Mapping[str, Any]) -> str:
    parts = urlsplit(str(values.get("url", "")))
    # Only host, port and database: a password written into the URL stays out of messages.
    return f"Redis at {parts.hostname}:{parts.port or 6379}{parts.path or ''}"


async def _connect(values: Mapping[str, Any], timeout_s: float) -> Redis:
    """A client holding one open, authenticated connection, or the `NodeError` saying why
    there is none."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    url = str(values.get("url", ""))
    if not url.startswith(("redis://", "rediss://")):
        raise ConfigError(
            f"the connection's url must start with redis:// or rediss://, got {url[:20]!r}",
            field="connection",
        )
    options: dict[str, Any] = {
        "single_connection_client": True,
        "socket_connect_timeout": timeout_s,
        "socket_timeout": timeout_s,
        "retry": Retry(NoBackoff(), 0),
        # No CLIENT SETNAME: an ACL user allowed only its data commands could not connect.
    }
    if values.get("password"):
        options["password"] = values["password"]
    try:
        client = Redis.from_url(url, **options)
    except ValueError as exc:
        raise ConfigError(f"the connection's url is not valid: {exc}", field="connection") from None
    try:
        async with asyncio.timeout(timeout_s):
            await client.initialize()
    except Exception as exc:
        await client.aclose()
        raise _connect_error(exc, values) from None
    return client


def _connect_error(exc: Exception, values: Mapping[str, Any]) -> NodeError:
    from redis import exceptions

    where = _where(values)
    text = str(exc)
    if isinstance(exc, exceptions.AuthenticationError) or text.startswith(
        ("WRONGPASS", "NOAUTH", "AUTH")
    ):
        return AuthenticationError(f"{where} refused the credentials: {text}")
    if isinstance(exc, exceptions.ResponseError) and "DB index is out of range" in text:
        return ServiceError(f"{where}: that database does not exist ({text})")
    if isinstance(exc, exceptions.ResponseError):
        return _service_error(exc)
    if isinstance(exc, ssl.SSLError) or isinstance(exc.__context__, ssl.SSLError) or "SSL" in text:
        return ConnectionFailedError(f"TLS with {where} failed: {text}", retryable=False)
    if isinstance(exc, TimeoutError | exceptions.TimeoutError):
        if str(values.get("url", "")).startswith("rediss://"):
            # A server without TLS never answers the TLS greeting: it only times out.
            return ConnectionFailedError(
                f"TLS with {where} did not complete in time: does the server speak TLS "
                "on this port? (use redis:// for one that does not)"
            )
        return ConnectionFailedError(f"{where} did not answer in time (connecting)")
    return ConnectionFailedError(f"cannot reach {where}: {text}")


def _service_error(exc: Exception) -> NodeError:
    text = str(exc)
    return ServiceError(f"Redis answered: {text}", retryable=text.startswith(RETRYABLE_PREFIXES))


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    """`PING` on a new connection; answers with the server's version."""
    from redis import exceptions

    client = await _connect(values, timeout_s)
    try:
        async with asyncio.timeout(timeout_s):
            await client.ping()
            try:
                version = (await client.info("server")).get("redis_version", "?")
            except exceptions.ResponseError:
                version = "?"  # an ACL user may be refused INFO; PING answered
    except Exception as exc:
        raise _command_error(exc, values) from None
    finally:
        await client.aclose()
    return f"connected to Redis {version} ({_where(values).removeprefix('Redis at ')})"


# --------------------------------------------------------------------------- the node


def _reply_value(value: Any) -> Any:
    """A reply as JSON: text as strings (bytes that are not UTF-8 as `{"base64": ...}`),
    maps as objects with string keys, sets and tuples as lists."""
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, Mapping):
        return {_key(key): _reply_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_reply_value(item) for item in value]
    if isinstance(value, Exception):
        # Replies inside a transaction (EXEC) or a script can hold errors.
        return {"error": str(value)}
    return json_safe_value(value)


def _key(key: Any) -> str:
    shown = _reply_value(key)
    return shown if isinstance(shown, str) else json.dumps(shown)


def _command_parts(config: Mapping[str, Any]) -> list[Any]:
    command = config.get("command")
    if not isinstance(command, str) or not command.split():
        raise ConfigError("command must name a Redis command (GET, HSET, ...)", field="command")
    if not _COMMAND.match(command.strip()):
        raise ConfigError(
            f"command {command!r} is not a Redis command name (with at most a subcommand, "
            "as in CONFIG GET); values go in args",
            field="command",
        )
    words = command.split()
    if words[0].upper() in REFUSED_COMMANDS:
        raise ConfigError(
            f"{words[0].upper()} turns the connection into a stream of messages, which one "
            "node answer cannot hold; use an event trigger for subscriptions",
            field="command",
        )
    args = config.get("args", [])
    if args is None:
        args = []
    if not isinstance(args, list):
        raise ConfigError("args must be a list of values", field="args")
    parts: list[Any] = [word.upper() for word in words]
    for index, arg in enumerate(args):
        parts.append(_argument(arg, index))
    return parts


def _argument(arg: Any, index: int) -> Any:
    """One argument as Redis takes it: strings and numbers as they are, booleans as 1/0,
    objects and lists as JSON text."""
    if isinstance(arg, bool):
        return int(arg)
    if isinstance(arg, str | int | float):
        return arg
    if arg is None:
        raise ConfigError(
            f"args[{index}] is null; Redis arguments are text or numbers", field="args"
        )
    return json.dumps(arg, ensure_ascii=False)


def _command_error(exc: Exception, values: Mapping[str, Any]) -> NodeError:
    from redis import exceptions

    if isinstance(exc, NodeError):
        return exc
    if isinstance(exc, exceptions.AuthenticationError | exceptions.NoPermissionError):
        return AuthenticationError(f"{_where(values)} refused: {exc}")
    if isinstance(exc, exceptions.ResponseError):
        return _service_error(exc)
    if isinstance(exc, TimeoutError | exceptions.TimeoutError):
        # The command may have run: repeating it is the flow's decision.
        return NodeTimeoutError(
            f"{_where(values)} did not answer in time (the command may have run)",
            retryable=False,
        )
    if isinstance(exc, exceptions.ConnectionError | OSError):
        return ConnectionFailedError(
            f"the connection to {_where(values)} broke during the command (it may have run): {exc}",
            retryable=False,
        )
    if isinstance(exc, exceptions.DataError):
        return ConfigError(f"Redis refused the arguments: {exc}", field="args")
    if isinstance(exc, exceptions.RedisError):
        return ServiceError(f"Redis: {exc}")
    raise exc


class RedisCommandNode(IntegrationNode):
    type = "redis.command"
    title = "Redis command"
    description = (
        "Sends one Redis command with its arguments (each sent as its own value, never "
        "parsed) and returns the reply."
    )
    icon = "database"
    group = "redis"
    connection_types = ("redis",)
    config_schema = {
        "type": "object",
        "properties": {
            "connection": connection_property("Redis connection"),
            "command": {
                "type": "string",
                "title": "Command",
                "minLength": 1,
                "description": "GET, SET, HSET, XADD, CONFIG GET, ... (values go in args).",
                "examples": ["GET", "SET", "HGETALL", "LPUSH", "INCR", "XADD"],
            },
            "args": {
                "type": "array",
                "title": "Arguments",
                "items": {"type": ["string", "number", "boolean", "object", "array"]},
                "default": [],
            },
        },
        "required": ["connection", "command"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {"result": {"description": "The reply, as JSON."}},
        "required": ["result"],
    }

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        command = config.get("command")
        if isinstance(command, str) and "{" not in command:
            try:
                _command_parts({"command": command})
            except ConfigError as exc:
                return [("command", exc.message)]
        return []

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        values = self.connect(ctx).values
        parts = _command_parts(ctx.config)
        remaining = ctx.remaining_s()
        timeout_s = DEFAULT_TIMEOUT_S if remaining is None else max(0.001, remaining)
        client = await _connect(values, timeout_s)
        try:
            async with asyncio.timeout(timeout_s):
                reply = await client.execute_command(*parts)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise _command_error(exc, values) from None
        finally:
            await client.aclose()
        result = _reply_value(reply)
        size = len(json.dumps(result, ensure_ascii=False))
        if size > EVENT_VALUE_LIMIT:
            raise ResultTooLargeError(
                f"result too large ({size // 1024} KiB as JSON), use a range (LRANGE 0 99, "
                f"SCAN with COUNT): a step's output may be at most {EVENT_VALUE_LIMIT // 1024} KiB"
            )
        return NodeOutcome({"result": result})


CONNECTION_TYPES: tuple[ConnectionType, ...] = (
    ConnectionType(
        type="redis",
        title="Redis",
        schema=SCHEMA,
        probe=probe,
        icon="database",
        description="A Redis server (or one that speaks its protocol: Valkey, KeyDB, ...).",
    ),
)
NODE_TYPES: tuple[type[NodeType], ...] = (RedisCommandNode,)
