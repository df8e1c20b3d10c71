"""llm.chat and the openai connection type against a fake OpenAI-compatible server on
loopback (GET /v1/models, POST /v1/chat/completions as OpenAI documents them)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    EngineServices,
    NodeTimeoutError,
    ResultTooLargeError,
    ServiceError,
)
from flomation.integrations.openai import LlmChatNode
from flomation.integrations.registry import connection_types
from flomation.integrations.webapi import MAX_ANSWER_BYTES
from tests.integrations.msg_fixtures import (
    OPENAI_KEY,
    FakeOpenAI,
    FakeServer,
    connection,
    fake_openai,
    run_node,
    serve_fake,
    silent_server,
    single_node_flow,
)

__all__ = ["fake_openai", "silent_server"]  # fixtures these tests use

MESSAGES = [
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "Say hello please"},
]
SENTIMENT = {
    "type": "object",
    "properties": {
        "sentiment": {"enum": ["positive", "negative", "neutral"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["sentiment", "score"],
    "additionalProperties": False,
}


def values(server: FakeOpenAI, **extra: Any) -> dict[str, Any]:
    return {"api_key": OPENAI_KEY, "base_url": server.server.url, **extra}


async def chat(config: dict[str, Any], connection_values: dict[str, Any]) -> Any:
    outcome = await run_node(
        LlmChatNode(),
        {"connection": "c", "messages": MESSAGES, **config},
        connection("openai", connection_values),
    )
    return outcome.output


async def test_a_chat_answers_text_usage_and_model(fake_openai: FakeOpenAI) -> None:
    output = await chat(
        {"model": "gpt-test-mini", "temperature": 0.2, "max_tokens": 50}, values(fake_openai)
    )
    assert output == {
        "text": "Hello from the fake model.",
        "usage": {"input_tokens": 6, "output_tokens": 7},
        "model": "gpt-test-mini-2024-01-01",
        "finish_reason": "stop",
    }
    received = fake_openai.server.last("/chat/completions")
    assert received.method == "POST"
    assert received.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert received.body == {
        "model": "gpt-test-mini",
        "messages": MESSAGES,
        "temperature": 0.2,
        "max_tokens": 50,
    }


async def test_the_connections_model_is_the_default(fake_openai: FakeOpenAI) -> None:
    output = await chat({}, values(fake_openai, model="gpt-test-large"))
    assert output["model"] == "gpt-test-large-2024-01-01"
    with pytest.raises(ConfigError) as caught:
        await chat({}, values(fake_openai))
    assert caught.value.field == "model"


async def test_json_schema_asks_for_structured_output_and_checks_it(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.content = '{"sentiment": "positive", "score": 0.9}'
    output = await chat({"model": "gpt-test-mini", "json_schema": SENTIMENT}, values(fake_openai))
    assert output["json"] == {"sentiment": "positive", "score": 0.9}
    assert output["text"] == fake_openai.content
    sent = fake_openai.server.last("/chat/completions").body
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": SENTIMENT},
    }


async def test_an_answer_that_breaks_the_schema_is_a_retryable_error(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.content = '{"sentiment": "ecstatic", "score": 0.9}'
    with pytest.raises(ServiceError) as caught:
        await chat({"model": "gpt-test-mini", "json_schema": SENTIMENT}, values(fake_openai))
    assert "does not follow json_schema at /sentiment" in caught.value.message
    assert caught.value.retryable is True


async def test_an_answer_that_is_not_json_is_a_retryable_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.content = "Sure! Here is the JSON: {"
    with pytest.raises(ServiceError) as caught:
        await chat({"model": "gpt-test-mini", "json_schema": SENTIMENT}, values(fake_openai))
    assert "not JSON" in caught.value.message
    assert caught.value.retryable is True


async def test_tools_are_passed_through_and_tool_calls_returned(fake_openai: FakeOpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'},
        }
    ]
    fake_openai.tool_calls = calls
    output = await chat(
        {"model": "gpt-test-mini", "tools": tools, "tool_choice": "auto"}, values(fake_openai)
    )
    assert output["tool_calls"] == calls
    assert output["text"] is None
    assert output["finish_reason"] == "tool_calls"
    sent = fake_openai.server.last("/chat/completions").body
    assert sent["tools"] == tools
    assert sent["tool_choice"] == "auto"


async def test_a_refused_key_is_an_authentication_error(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(AuthenticationError) as caught:
        await chat({"model": "gpt-test-mini"}, values(fake_openai, api_key="sk-wrong"))
    assert "HTTP 401: Incorrect API key provided." in caught.value.message


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (429, "rate_limit_exceeded", True),
        (429, "insufficient_quota", False),
        (500, "server_error", True),
        (400, "context_length_exceeded", False),
    ],
)
async def test_service_errors_say_what_the_server_said(
    fake_openai: FakeOpenAI, status: int, code: str, retryable: bool
) -> None:
    said = f"the server says {code}"
    fake_openai.error = (status, {"error": {"message": said, "type": "x", "code": code}})
    with pytest.raises(ServiceError) as caught:
        await chat({"model": "gpt-test-mini"}, values(fake_openai))
    assert f"HTTP {status}: {said}" in caught.value.message
    assert caught.value.retryable is retryable


async def test_an_unknown_model_is_the_servers_refusal(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(ServiceError) as caught:
        await chat({"model": "gpt-none"}, values(fake_openai))
    assert "The model `gpt-none` does not exist" in caught.value.message
    assert caught.value.retryable is False


def test_a_broken_json_schema_is_refused_before_running() -> None:
    problems = LlmChatNode().check_config(
        {"connection": "c", "messages": MESSAGES, "json_schema": {"type": "nope"}}
    )
    assert len(problems) == 1
    assert problems[0][0] == "json_schema"
    assert "not a valid JSON Schema" in problems[0][1]


async def test_the_probe_lists_models(fake_openai: FakeOpenAI) -> None:
    openai = connection_types().get("openai")
    assert openai is not None
    assert openai.probe is not None
    services = EngineServices()
    try:
        message = await openai.probe(values(fake_openai, model="gpt-test-mini"), services, 5)
        assert message == "connected: 2 models available, gpt-test-mini among them"
        assert fake_openai.server.last("/models").method == "GET"
        with pytest.raises(ServiceError) as caught:
            await openai.probe(values(fake_openai, model="gpt-5"), services, 5)
        assert "does not offer model 'gpt-5'" in caught.value.message
        with pytest.raises(AuthenticationError):
            await openai.probe(values(fake_openai, api_key="sk-wrong"), services, 5)
    finally:
        await services.aclose()


async def test_through_the_engine_the_key_never_reaches_the_record(
    fake_openai: FakeOpenAI,
) -> None:
    connections = {"llm": connection("openai", values(fake_openai, model="gpt-test-mini"), "llm")}
    doc = single_node_flow("llm.chat", {"connection": "llm", "messages": MESSAGES})
    ok = await run_flow(doc, connections=connections)
    assert ok["status"] == "succeeded"
    assert ok["output"]["text"] == "Hello from the fake model."
    assert OPENAI_KEY not in json.dumps(ok)

    fake_openai.error = (400, {"error": {"message": f"key {OPENAI_KEY} is malformed"}})
    echoed = await run_flow(doc, connections=connections)
    assert echoed["status"] == "failed"
    [step] = [s for s in echoed["steps"] if s["node_id"] == "call"]
    assert "key *** is malformed" in step["error"]["message"]
    assert OPENAI_KEY not in json.dumps(echoed)


async def test_no_answer_is_a_timeout_that_may_be_retried(silent_server: FakeServer) -> None:
    # Asking a model again has no effect beyond its cost.
    with pytest.raises(NodeTimeoutError) as caught:
        await chat(
            {"model": "gpt-test-mini", "timeout_s": 0.3},
            {"api_key": OPENAI_KEY, "base_url": silent_server.url},
        )
    assert caught.value.retryable is True
    assert silent_server.requests[0].path == "/chat/completions"


async def test_an_oversized_answer_is_refused_not_held() -> None:
    huge = "x" * (MAX_ANSWER_BYTES + 1)
    for server in serve_fake(FakeServer(lambda received: (200, {}, huge))):
        with pytest.raises(ResultTooLargeError) as caught:
            await chat({"model": "gpt-test-mini"}, {"api_key": OPENAI_KEY, "base_url": server.url})
    assert str(MAX_ANSWER_BYTES) in caught.value.message
