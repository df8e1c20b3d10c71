"""The `redis` connection type and the `redis.command` node, against the real Redis server on
127.0.0.1:6379 (each test on a key prefix of its own; an ACL user of its own where a password
is needed), directly and through the engine."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeTimeoutError,
    ResultTooLargeError,
    ServiceError,
)
from flomation.engine.nodes.registry import default_registry
from flomation.integrations.redis import REFUSED_COMMANDS, probe
from flomation.integrations.registry import connection_types
from tests.integrations.common import unique
from tests.integrations.db_fixtures import (
    CLOSED_PORT,
    REDIS_URL,
    context,
    redis_connection,
    redis_prefix_fixture,  # noqa: F401 (a fixture)
    run_in_flow,
    run_node,
    silent_port_fixture,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.timeout(60)


async def command(name: str, *args: Any, **overrides: Any) -> Any:
    config = {"connection": "kv", "command": name, "args": list(args)}
    outcome = await run_node("redis.command", config, redis_connection(**overrides))
    return outcome.output


@pytest.fixture
async def redis_user(redis_prefix: str) -> AsyncIterator[tuple[str, str]]:
    """An ACL user with a password, allowed every command on the test's keys."""
    user = unique("flo_u")
    password = "pw" + unique("x").replace("_", "")
    client = Redis.from_url(REDIS_URL)
    try:
        await client.execute_command(  # type: ignore[no-untyped-call]
            "ACL", "SETUSER", user, "on", f">{password}", f"~{redis_prefix}*", "+@all"
        )
        yield user, password
        await client.execute_command("ACL", "DELUSER", user)  # type: ignore[no-untyped-call]
    finally:
        await client.aclose()


def test_the_node_and_connection_types_are_registered() -> None:
    node_type = default_registry().get("redis.command")
    assert node_type is not None
    assert node_type.describe()["connection_types"] == ["redis"]
    kind = connection_types().get("redis")
    assert kind is not None
    assert kind.probe is not None
    assert kind.secret_fields == frozenset({"password"})
    assert set(kind.schema["properties"]) == {"url", "password"}


# --------------------------------------------------------------------------- probe


async def test_the_probe_pings_and_answers_with_the_server_version() -> None:
    message = await probe({"url": REDIS_URL}, EngineServices(), 5.0)
    assert message.startswith("connected to Redis 7.")
    assert message.endswith("(127.0.0.1:6379/0)")


async def test_the_probe_names_an_unreachable_host() -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        await probe({"url": f"redis://127.0.0.1:{CLOSED_PORT}/0"}, EngineServices(), 5.0)
    assert caught.value.message.startswith(f"cannot reach Redis at 127.0.0.1:{CLOSED_PORT}/0")
    assert caught.value.retryable


async def test_the_probe_gives_up_on_a_server_that_never_answers(silent_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionFailedError) as caught:
        await probe({"url": f"redis://127.0.0.1:{silent_port}/0"}, EngineServices(), 0.3)
    assert caught.value.message == (
        f"Redis at 127.0.0.1:{silent_port}/0 did not answer in time (connecting)"
    )
    assert time.monotonic() - started < 3


async def test_the_probe_names_a_tls_failure() -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionFailedError) as caught:
        await probe({"url": "rediss://127.0.0.1:6379/0"}, EngineServices(), 0.5)
    assert caught.value.message.startswith("TLS with Redis at 127.0.0.1:6379/0 did not complete")
    assert time.monotonic() - started < 5


async def test_the_probe_says_the_database_is_missing() -> None:
    with pytest.raises(ServiceError) as caught:
        await probe({"url": "redis://127.0.0.1:6379/999"}, EngineServices(), 5.0)
    assert "that database does not exist (DB index is out of range)" in caught.value.message


async def test_the_probe_says_a_wrong_password_is_refused(redis_user: tuple[str, str]) -> None:
    user, password = redis_user
    url = f"redis://{user}@127.0.0.1:6379/0"
    assert (await probe({"url": url, "password": password}, EngineServices(), 5.0)).startswith(
        "connected to Redis"
    )
    with pytest.raises(AuthenticationError) as caught:
        await probe({"url": url, "password": password + "x"}, EngineServices(), 5.0)
    assert "refused the credentials: invalid username-password pair" in caught.value.message
    assert password not in caught.value.message


# --------------------------------------------------------------------------- the node


async def test_commands_and_their_replies_as_json(redis_prefix: str) -> None:
    key = f"{redis_prefix}h"
    assert await command("SET", f"{redis_prefix}s", "value") == {"result": True}
    assert await command("GET", f"{redis_prefix}s") == {"result": "value"}
    assert await command("GET", f"{redis_prefix}missing") == {"result": None}
    assert await command("HSET", key, "n", 1, "doc", {"a": [1]}, "flag", True) == {"result": 3}
    assert await command("HGETALL", key) == {"result": {"n": "1", "doc": '{"a": [1]}', "flag": "1"}}
    assert await command("HINCRBY", key, "n", 41) == {"result": 42}
    assert await command("RPUSH", f"{redis_prefix}l", "a", "b", "c") == {"result": 3}
    assert await command("LRANGE", f"{redis_prefix}l", 0, -1) == {"result": ["a", "b", "c"]}
    # A two-word command.
    assert await command("CONFIG GET", "maxmemory-policy") == {
        "result": {"maxmemory-policy": "noeviction"}
    }
    # Bytes that are not UTF-8 come back as base64, marked.
    assert await command("EVAL", "return string.char(255, 0, 1)", 0) == {
        "result": {"base64": "/wAB"}
    }


async def test_args_are_values_never_commands(redis_prefix: str) -> None:
    key = f"{redis_prefix}k"
    attack = "x\r\nFLUSHALL\r\nSET evil 1"
    assert await command("SET", key, attack) == {"result": True}
    assert await command("GET", key) == {"result": attack}
    assert await command("EXISTS", "evil") == {"result": 0}
    with pytest.raises(ConfigError) as caught:
        await command("GET\r\nFLUSHALL")
    assert "is not a Redis command name" in caught.value.message


async def test_streaming_commands_are_refused_by_name() -> None:
    node_type = default_registry().get("redis.command")
    assert node_type is not None
    for name in sorted(REFUSED_COMMANDS):
        with pytest.raises(ConfigError) as caught:
            await command(name, "x")
        assert caught.value.message.startswith(f"{name} turns the connection into a stream")
    assert [f for f, _ in node_type.check_config({"command": "subscribe"})] == ["command"]
    assert node_type.check_config({"command": "FLUSHDB"}) == []


async def test_errors_carry_the_servers_answer(redis_prefix: str) -> None:
    await command("SET", f"{redis_prefix}s", "text")
    with pytest.raises(ServiceError) as wrong_type:
        await command("LPUSH", f"{redis_prefix}s", "x")
    assert wrong_type.value.message == (
        "Redis answered: WRONGTYPE Operation against a key holding the wrong kind of value"
    )
    assert not wrong_type.value.retryable
    with pytest.raises(ServiceError) as unknown:
        await command("NOSUCHCOMMAND")
    assert unknown.value.message.startswith("Redis answered: unknown command 'NOSUCHCOMMAND'")


async def test_a_blocking_command_is_bounded_by_the_attempt(redis_prefix: str) -> None:
    node_type = default_registry().get("redis.command")
    assert node_type is not None
    ctx = context(
        "redis.command",
        {"connection": "kv", "command": "BLPOP", "args": [f"{redis_prefix}empty", 0]},
        {"kv": redis_connection()},
        deadline=time.monotonic() + 0.3,
    )
    started = time.monotonic()
    with pytest.raises(NodeTimeoutError) as caught:
        await node_type.run(ctx)
    assert "did not answer in time (the command may have run)" in caught.value.message
    assert not caught.value.retryable
    assert time.monotonic() - started < 5


async def test_a_reply_past_the_step_limit_is_refused(redis_prefix: str) -> None:
    key = f"{redis_prefix}big"
    await command("SET", key, "x" * 70_000)
    with pytest.raises(ResultTooLargeError) as caught:
        await command("GET", key)
    assert caught.value.message.startswith("result too large (68 KiB as JSON), use a range")


# --------------------------------------------------------------------------- through the engine


async def test_a_flow_runs_a_command_and_the_password_is_masked(
    redis_prefix: str, redis_user: tuple[str, str]
) -> None:
    user, password = redis_user
    connection = redis_connection(url=f"redis://{user}@127.0.0.1:6379/0", password=password)
    ran = await run_in_flow(
        "redis.command",
        {"connection": "kv", "command": "ECHO", "args": [password]},
        {"kv": connection},
    )
    assert ran.document["status"] == "succeeded"
    assert ran.step["output"] == {"result": "***"}
    assert password not in json.dumps(ran.document)

    stored = await run_in_flow(
        "redis.command",
        {"connection": "kv", "command": "SET", "args": [f"{redis_prefix}n", "{{ input.n }}"]},
        {"kv": connection},
        input={"n": 7},
    )
    assert stored.step["output"] == {"result": True}
    assert await command("GET", f"{redis_prefix}n") == {"result": "7"}

    # The ACL user may not touch keys outside its prefix: the server's refusal, typed.
    refused = await run_in_flow(
        "redis.command",
        {"connection": "kv", "command": "GET", "args": ["other"]},
        {"kv": connection},
    )
    assert refused.step["error"]["type"] == "authentication"
    assert "no permissions to access one of the keys" in refused.step["error"]["message"]

    wrong = await run_in_flow(
        "redis.command",
        {"connection": "kv", "command": "PING"},
        {"kv": redis_connection(url=connection.values["url"], password=password + "x")},
    )
    assert wrong.step["error"]["type"] == "authentication"
    assert password not in json.dumps(wrong.document)


async def test_a_flow_retries_an_unreachable_server_but_not_a_refusal(redis_prefix: str) -> None:
    retry = {"max_attempts": 2, "delay_s": 0.01}
    unreachable = await run_in_flow(
        "redis.command",
        {"connection": "kv", "command": "PING"},
        {"kv": redis_connection(url=f"redis://127.0.0.1:{CLOSED_PORT}/0")},
        retry=retry,
    )
    assert unreachable.step["error"]["type"] == "connection"
    assert unreachable.step["error"]["attempt"] == 2
    await command("SET", f"{redis_prefix}s", "text")
    refused = await run_in_flow(
        "redis.command",
        {"connection": "kv", "command": "INCR", "args": [f"{redis_prefix}s"]},
        {"kv": redis_connection()},
        retry=retry,
    )
    assert refused.step["error"]["type"] == "service"
    assert refused.step["error"]["attempt"] == 1
