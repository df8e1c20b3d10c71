"""slack.message and the slack connection type against a fake of Slack's Web API on loopback."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import (
    AuthenticationError,
    ConnectionFailedError,
    EngineServices,
    NodeTimeoutError,
    ServiceError,
)
from flomation.integrations.registry import connection_types
from flomation.integrations.slack import SlackMessageNode
from tests.integrations.common import free_port
from tests.integrations.msg_fixtures import (
    SLACK_TOKEN,
    FakeServer,
    FakeSlack,
    connection,
    fake_slack,
    run_node,
    serve_fake,
    silent_server,
    single_node_flow,
)

__all__ = ["fake_slack", "silent_server"]  # fixtures these tests use


def values(slack: FakeSlack, token: str = SLACK_TOKEN) -> dict[str, Any]:
    return {"bot_token": token, "base_url": slack.server.url}


async def post(config: dict[str, Any], connection_values: dict[str, Any]) -> Any:
    outcome = await run_node(
        SlackMessageNode(), {"connection": "c", **config}, connection("slack", connection_values)
    )
    return outcome.output


async def test_a_message_is_posted_with_the_bot_token(fake_slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Deployed*"}}]
    output = await post(
        {"channel": "C0GENERAL", "text": "Deployed", "blocks": blocks, "thread_ts": "1.2"},
        values(fake_slack),
    )
    assert output["channel"] == "C0GENERAL"
    assert output["ts"].startswith("1700000000.")
    received = fake_slack.server.last("/chat.postMessage")
    assert received.method == "POST"
    assert received.headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    assert received.headers["content-type"].startswith("application/json")
    assert received.body == {
        "channel": "C0GENERAL",
        "text": "Deployed",
        "blocks": blocks,
        "thread_ts": "1.2",
    }


async def test_a_channel_name_answers_with_its_id(fake_slack: FakeSlack) -> None:
    output = await post({"channel": "#alerts", "text": "hi"}, values(fake_slack))
    assert output["channel"] == "C0ALERTS"


async def test_slacks_error_is_the_nodes_error_and_not_retried(fake_slack: FakeSlack) -> None:
    with pytest.raises(ServiceError) as caught:
        await post({"channel": "C0NOPE", "text": "hi"}, values(fake_slack))
    assert "channel_not_found" in caught.value.message
    assert caught.value.retryable is False


async def test_a_refused_token_is_an_authentication_error(fake_slack: FakeSlack) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await post({"channel": "C0GENERAL", "text": "hi"}, values(fake_slack, "xoxb-wrong"))
    assert "invalid_auth" in caught.value.message


async def test_a_rate_limit_is_retryable(fake_slack: FakeSlack) -> None:
    fake_slack.rate_limited = True
    try:
        with pytest.raises(ServiceError) as caught:
            await post({"channel": "C0GENERAL", "text": "hi"}, values(fake_slack))
    finally:
        fake_slack.rate_limited = False
    assert caught.value.retryable is True
    assert "retry after 3 s" in caught.value.message


async def test_a_server_error_is_not_retried_since_the_message_may_be_posted() -> None:
    broken = FakeServer(lambda received: (500, {"Content-Type": "text/html"}, "<h1>oops</h1>"))
    for server in serve_fake(broken, "/api"):
        with pytest.raises(ServiceError) as caught:
            await post(
                {"channel": "C0GENERAL", "text": "hi"},
                {"bot_token": SLACK_TOKEN, "base_url": server.url},
            )
    assert "HTTP 500" in caught.value.message
    assert caught.value.retryable is False


async def test_an_unreachable_api_is_a_retryable_connection_error() -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        await post(
            {"channel": "C0GENERAL", "text": "hi"},
            {"bot_token": SLACK_TOKEN, "base_url": f"http://127.0.0.1:{free_port()}/api"},
        )
    assert caught.value.retryable is True


def test_a_message_needs_text_or_blocks() -> None:
    node = SlackMessageNode()
    assert node.check_config({"connection": "c", "channel": "C1"}) == [
        ("text", "give text, blocks or both")
    ]
    assert node.check_config({"connection": "c", "channel": "C1", "blocks": [{}]}) == []


async def test_the_probe_calls_auth_test(fake_slack: FakeSlack) -> None:
    slack = connection_types().get("slack")
    assert slack is not None
    assert slack.probe is not None
    message = await slack.probe(values(fake_slack), EngineServices(), 5)
    assert message == "connected to Slack workspace Flomation Test as flobot"
    assert fake_slack.server.last("/auth.test").headers["authorization"] == f"Bearer {SLACK_TOKEN}"
    with pytest.raises(AuthenticationError):
        await slack.probe(values(fake_slack, "xoxb-wrong"), EngineServices(), 5)


def test_the_bot_token_is_a_secret_field() -> None:
    slack = connection_types().get("slack")
    assert slack is not None
    assert slack.secret_fields == frozenset({"bot_token"})


async def test_through_the_engine_the_token_never_reaches_the_record(
    fake_slack: FakeSlack,
) -> None:
    connections = {"team": connection("slack", values(fake_slack), "team")}
    ok = await run_flow(
        single_node_flow(
            "slack.message", {"connection": "team", "channel": "#alerts", "text": "up"}
        ),
        connections=connections,
    )
    assert ok["status"] == "succeeded"
    assert ok["output"]["channel"] == "C0ALERTS"
    assert SLACK_TOKEN not in json.dumps(ok)

    # This channel makes the fake echo the token in its error: the record shows it masked.
    echoed = await run_flow(
        single_node_flow(
            "slack.message", {"connection": "team", "channel": "echo-token", "text": "up"}
        ),
        connections=connections,
    )
    assert echoed["status"] == "failed"
    [step] = [s for s in echoed["steps"] if s["node_id"] == "call"]
    assert step["error"]["type"] == "service"
    assert "channel_not_found" in step["error"]["message"]
    assert "token *** cannot see" in step["error"]["message"]
    assert SLACK_TOKEN not in json.dumps(echoed)


async def test_no_answer_after_sending_is_a_timeout_that_is_not_retried(
    silent_server: FakeServer,
) -> None:
    # The message may have been posted: posting again could post it twice.
    with pytest.raises(NodeTimeoutError) as caught:
        await post(
            {"channel": "C0GENERAL", "text": "hi", "timeout_s": 0.3},
            {"bot_token": SLACK_TOKEN, "base_url": silent_server.url},
        )
    assert caught.value.retryable is False
    assert len(silent_server.requests) == 1
