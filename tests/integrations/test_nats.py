"""nats.publish and the nats connection type against the NATS server (with JetStream) on
this machine, and one with a password started for these tests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    ServiceError,
)
from flomation.integrations.nats import LOOKUP_TIMEOUT_S, NatsPublishNode
from flomation.integrations.registry import connection_types
from tests.integrations.common import free_port, unique
from tests.integrations.msg_fixtures import (
    NATS_SERVERS,
    PasswordBroker,
    RestrictedJetStream,
    connection,
    nats_restricted_jetstream,
    nats_with_password,
    run_node,
    single_node_flow,
)

__all__ = ["nats_restricted_jetstream", "nats_with_password"]  # fixtures these tests use

SHARED = {"servers": NATS_SERVERS}
WAIT_S = 5.0


@pytest.fixture
async def client() -> AsyncIterator[NatsClient]:
    nc = await nats.connect(NATS_SERVERS, allow_reconnect=False, max_reconnect_attempts=1)
    yield nc
    await nc.close()


@pytest.fixture
async def stream(client: NatsClient) -> AsyncIterator[tuple[JetStreamContext, str, str]]:
    """A JetStream stream of the test's own, taking `<prefix>.>`."""
    js = client.jetstream()
    name = unique("S").upper()
    prefix = unique("orders")
    await js.add_stream(name=name, subjects=[f"{prefix}.>"])
    yield js, name, prefix
    await js.delete_stream(name)


def values_of(broker: PasswordBroker, password: str | None = None) -> dict[str, Any]:
    return {
        "servers": f"nats://{broker.host}:{broker.port}",
        "user": broker.username,
        "password": password or broker.password,
    }


async def publish(config: dict[str, Any], values: dict[str, Any] = SHARED) -> Any:
    outcome = await run_node(
        NatsPublishNode(), {"connection": "c", **config}, connection("nats", values)
    )
    return outcome.output


async def test_a_core_subject_gets_the_message_with_its_headers(client: NatsClient) -> None:
    subject = unique("events") + ".created"
    subscription = await client.subscribe(subject)
    await client.flush()
    output = await publish({"subject": subject, "body": {"id": 7}, "headers": {"who": "me"}})
    assert output == {"published": True}
    message = await subscription.next_msg(timeout=WAIT_S)
    assert json.loads(message.data) == {"id": 7}
    assert message.headers == {"Content-Type": "application/json", "who": "me"}


async def test_a_stream_subject_is_stored_and_answers_stream_and_seq(
    stream: tuple[JetStreamContext, str, str],
) -> None:
    js, name, prefix = stream
    first = await publish({"subject": f"{prefix}.eu", "body": "one", "headers": {"k": "v"}})
    second = await publish({"subject": f"{prefix}.us", "body": "two"})
    assert first == {"stream": name, "seq": 1, "duplicate": False}
    assert second == {"stream": name, "seq": 2, "duplicate": False}
    stored = await js.get_msg(name, 1)
    assert stored.data == b"one"
    assert stored.headers is not None
    assert stored.headers["k"] == "v"
    assert stored.subject == f"{prefix}.eu"


async def test_a_msg_id_makes_a_repeat_a_duplicate(
    stream: tuple[JetStreamContext, str, str],
) -> None:
    _, name, prefix = stream
    config = {"subject": f"{prefix}.a", "body": "once", "msg_id": "order-1"}
    assert await publish(config) == {"stream": name, "seq": 1, "duplicate": False}
    assert await publish(config) == {"stream": name, "seq": 1, "duplicate": True}


async def test_core_mode_skips_the_stream(
    client: NatsClient, stream: tuple[JetStreamContext, str, str]
) -> None:
    js, name, prefix = stream
    assert await publish({"subject": f"{prefix}.a", "body": "x", "mode": "core"}) == {
        "published": True
    }
    # The stream still takes the subject (the server stores it), without an acknowledgement.
    info = await js.stream_info(name)
    assert info.state.messages == 1


async def test_jetstream_mode_without_a_stream_is_refused() -> None:
    with pytest.raises(ServiceError) as caught:
        await publish({"subject": unique("nostream") + ".x", "body": "x", "mode": "jetstream"})
    assert "no JetStream stream" in caught.value.message
    assert caught.value.retryable is True  # nothing was stored


async def test_the_wrong_expected_stream_is_jetstreams_refusal(
    stream: tuple[JetStreamContext, str, str],
) -> None:
    _, _, prefix = stream
    with pytest.raises(ServiceError) as caught:
        await publish({"subject": f"{prefix}.a", "body": "x", "stream": "OTHER"})
    assert "expected stream does not match" in caught.value.message
    assert caught.value.retryable is False


async def test_a_wildcard_subject_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        await publish({"subject": "orders.*", "body": "x"})


async def test_without_jetstream_on_the_server_auto_is_a_core_publish(
    nats_with_password: PasswordBroker,
) -> None:
    output = await publish({"subject": "a.b", "body": "x"}, values_of(nats_with_password))
    assert output == {"published": True}


async def test_a_wrong_password_is_an_authentication_error(
    nats_with_password: PasswordBroker,
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await publish({"subject": "a.b"}, values_of(nats_with_password, "wrong"))
    assert "Authorization Violation" in caught.value.message


async def test_an_unreachable_server_is_a_retryable_connection_error() -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        await publish({"subject": "a.b"}, {"servers": f"127.0.0.1:{free_port()}"})
    assert caught.value.retryable is True
    assert "could not connect" in caught.value.message


async def test_the_probe_connects(nats_with_password: PasswordBroker) -> None:
    probe = connection_types().get("nats")
    assert probe is not None
    assert probe.probe is not None
    message = await probe.probe(SHARED, EngineServices(), 5)
    assert "with JetStream" in message
    assert "127.0.0.1:4222" in message
    with pytest.raises(AuthenticationError):
        await probe.probe(values_of(nats_with_password, "nope"), EngineServices(), 5)


async def test_through_the_engine_the_password_is_masked(
    nats_with_password: PasswordBroker,
) -> None:
    doc = single_node_flow("nats.publish", {"connection": "n", "subject": "a.b", "body": "x"})
    ok = await run_flow(
        doc, connections={"n": connection("nats", values_of(nats_with_password), "n")}
    )
    assert ok["status"] == "succeeded", ok["error"]
    assert ok["output"] == {"published": True}
    wrong = "wrong-" + unique("pw")
    refused = await asyncio.wait_for(
        run_flow(
            doc, connections={"n": connection("nats", values_of(nats_with_password, wrong), "n")}
        ),
        WAIT_S * 2,
    )
    assert refused["status"] == "failed"
    [step] = [s for s in refused["steps"] if s["node_id"] == "call"]
    assert step["error"]["type"] == "authentication"
    assert wrong not in json.dumps(refused)


async def test_a_permissions_violation_is_the_servers_refusal(
    nats_with_password: PasswordBroker,
) -> None:
    with pytest.raises(ServiceError) as caught:
        await publish({"subject": "forbidden.x", "body": "x"}, values_of(nats_with_password))
    assert 'permissions violation for publish to "forbidden.x"' in caught.value.message
    assert caught.value.retryable is False


async def test_a_user_denied_the_jetstream_api_gets_a_core_publish_at_once(
    nats_restricted_jetstream: RestrictedJetStream,
) -> None:
    server = nats_restricted_jetstream
    admin = await nats.connect(
        server.url, user="admin", password=server.admin_password, allow_reconnect=False
    )
    try:
        js = admin.jetstream()
        name = unique("KEPT").upper()
        prefix = unique("kept")
        await js.add_stream(name=name, subjects=[f"{prefix}.>"])
        started = time.monotonic()
        output = await publish(
            {"subject": f"{prefix}.x", "body": "x"},
            {"servers": server.url, "user": "carol", "password": server.carol_password},
        )
        # The refusal arrives on the side; the node does not wait out the lookup for it.
        assert time.monotonic() - started < LOOKUP_TIMEOUT_S
        assert output == {"published": True}
        assert (await js.stream_info(name)).state.messages == 1
    finally:
        await admin.close()
