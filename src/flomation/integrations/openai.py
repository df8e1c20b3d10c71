"""The openai integration (any OpenAI-compatible chat completions server, over the runner's
shared HTTP client): the `openai` connection type and the `llm.chat` node (rules in
`integrations.base`).

Asking again has no effect beyond its cost, so rate limits, 5xx answers, timeouts and an
answer that breaks the requested `json_schema` are retryable; a refused key, an exhausted
quota and a refused request are not."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    EngineServices,
    NodeContext,
    NodeOutcome,
    NodeType,
    ServiceError,
)
from flomation.integrations.base import (
    PROBE_TIMEOUT_S,
    ConnectionType,
    IntegrationNode,
    connection_property,
)
from flomation.integrations.messages import time_budget_s
from flomation.integrations.webapi import ApiAnswer, call_json, excerpt, join_url

__all__ = ["CONNECTION_TYPES", "DEFAULT_BASE_URL", "NODE_TYPES", "OPENAI", "LlmChatNode"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 120.0


def _headers(values: Mapping[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    # Local servers (vLLM, Ollama, llama.cpp) often take no key.
    if values.get("api_key"):
        headers["Authorization"] = f"Bearer {values['api_key']}"
    if values.get("organization"):
        headers["OpenAI-Organization"] = str(values["organization"])
    return headers


def _base_url(values: Mapping[str, Any]) -> str:
    return str(values.get("base_url") or DEFAULT_BASE_URL)


def _refusal(what: str, answer: ApiAnswer) -> Exception:
    """The `NodeError` for an answer that is not a success, with the server's own message."""
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        said = str(error.get("message") or code or "")
    else:
        code = None
        said = str(error) if error else excerpt(answer.body or "")
    text = f"{what} answered HTTP {answer.status}: {said}"
    if answer.status in (401, 403):
        return AuthenticationError(text)
    if answer.status == 429:
        # An exhausted quota stays exhausted; a rate limit passes.
        return ServiceError(text, retryable=code != "insufficient_quota")
    return ServiceError(text, retryable=answer.status >= 500)


async def _call(
    services: EngineServices,
    values: Mapping[str, Any],
    method: str,
    path: str,
    what: str,
    timeout_s: float,
    json_body: Any = None,
) -> ApiAnswer:
    """One call of the API under the connection's base URL; its 200 answer, or the refusal.
    Repeatable: listing models or asking for a completion again changes nothing stored."""
    answer = await call_json(
        services,
        method,
        join_url(_base_url(values), path),
        service=what,
        timeout_s=timeout_s,
        headers=_headers(values),
        json_body=json_body,
        repeatable=True,
    )
    if answer.status != 200:
        raise _refusal(what, answer)
    return answer


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    what = "OpenAI-compatible server (models)"
    answer = await _call(services, values, "GET", "models", what, min(timeout_s, PROBE_TIMEOUT_S))
    data = answer.body.get("data") if isinstance(answer.body, dict) else None
    models = [str(item.get("id")) for item in data or [] if isinstance(item, dict)]
    model = values.get("model")
    if model and model not in models:
        raise ServiceError(
            f"the server does not offer model {model!r} (it offers {len(models)} models"
            + (f", e.g. {', '.join(models[:5])})" if models else ")")
        )
    return f"connected: {len(models)} models available" + (f", {model} among them" if model else "")


OPENAI = ConnectionType(
    type="openai",
    title="OpenAI-compatible LLM",
    icon="sparkles",
    description="OpenAI or any server with its chat completions API (vLLM, Ollama, ...).",
    probe=probe,
    schema={
        "type": "object",
        "properties": {
            "api_key": {"type": "string", "title": "API key", "x-secret": True},
            "base_url": {
                "type": "string",
                "title": "Base URL",
                "default": DEFAULT_BASE_URL,
                "pattern": "^https?://",
            },
            "model": {"type": "string", "title": "Default model"},
            "organization": {"type": "string", "title": "Organization"},
        },
        "additionalProperties": False,
    },
)

_MESSAGE = {
    "type": "object",
    "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"type": ["string", "array", "null"]},
    },
    "required": ["role"],
}


class LlmChatNode(IntegrationNode):
    type = "llm.chat"
    title = "LLM chat"
    description = (
        "Asks a chat model (OpenAI or a compatible server) and returns its answer; with "
        "`json_schema`, the answer is JSON checked against that schema."
    )
    icon = "sparkles"
    group = "openai"
    connection_types: ClassVar[tuple[str, ...]] = ("openai",)
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "messages": {"type": "array", "items": _MESSAGE, "minItems": 1},
            "model": {"type": "string", "description": "Default: the connection's model."},
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "max_tokens": {"type": "integer", "minimum": 1},
            "json_schema": {
                "type": "object",
                "description": "A JSON Schema the answer must follow (structured output).",
            },
            "tools": {
                "type": "array",
                "items": {"type": "object"},
                "description": "Tool definitions, passed to the server as written.",
            },
            "tool_choice": {"description": "Passed to the server as written."},
            "timeout_s": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 3600,
                "default": DEFAULT_TIMEOUT_S,
            },
        },
        "required": ["connection", "messages"],
        "additionalProperties": False,
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "text": {"type": ["string", "null"]},
            "json": {},
            "tool_calls": {"type": "array"},
            "finish_reason": {"type": ["string", "null"]},
            "usage": {
                "type": "object",
                "properties": {
                    "input_tokens": {"type": "integer"},
                    "output_tokens": {"type": "integer"},
                },
            },
            "model": {"type": "string"},
        },
        "required": ["text", "usage", "model"],
    }

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        schema = config.get("json_schema")
        if isinstance(schema, dict):
            problem = _schema_problem(schema)
            if problem:
                return [("json_schema", problem)]
        return []

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        values = self.connect(ctx).values
        config = ctx.config
        model = config.get("model") or values.get("model")
        if not model:
            raise ConfigError("name a model (here or in the connection)", field="model")
        schema = config.get("json_schema")
        if isinstance(schema, dict) and (problem := _schema_problem(schema)):
            raise ConfigError(problem, field="json_schema")
        request: dict[str, Any] = {"model": model, "messages": config["messages"]}
        for key in ("temperature", "max_tokens", "tools", "tool_choice"):
            if config.get(key) is not None:
                request[key] = config[key]
        if isinstance(schema, dict):
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema},
            }
        what = f"LLM server (model {model})"
        timeout_s = time_budget_s(ctx, DEFAULT_TIMEOUT_S)
        answer = await _call(
            ctx.services, values, "POST", "chat/completions", what, timeout_s, request
        )
        return NodeOutcome(_output(what, answer.body, str(model), schema))


def _output(what: str, body: Any, model: str, schema: Any) -> dict[str, Any]:
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise ServiceError(f"{what} answered without choices: {excerpt(body or '')}")
    choice = choices[0]
    message = choice.get("message") or {}
    text = message.get("content")
    usage = body.get("usage") or {}
    output: dict[str, Any] = {
        "text": text if isinstance(text, str) else None,
        "usage": {
            "input_tokens": int(usage.get("prompt_tokens") or 0),
            "output_tokens": int(usage.get("completion_tokens") or 0),
        },
        "model": str(body.get("model") or model),
        "finish_reason": choice.get("finish_reason"),
    }
    if message.get("tool_calls"):
        output["tool_calls"] = message["tool_calls"]
    if isinstance(schema, dict):
        output["json"] = _checked_json(what, text, schema, choice.get("finish_reason"))
    return output


def _checked_json(what: str, text: Any, schema: dict[str, Any], finish_reason: Any) -> Any:
    """The answer parsed and checked against `schema`; a model can get it wrong, and asking
    again may get it right, so these failures are retryable."""
    import jsonschema

    cut = " (the answer was cut at max_tokens)" if finish_reason == "length" else ""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError as exc:
        raise ServiceError(f"{what}: the answer is not JSON{cut}: {exc}", retryable=True) from None
    if value is None:
        raise ServiceError(f"{what}: the answer holds no JSON{cut}", retryable=True)
    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(value)
    )
    if error is not None:
        where = "/" + "/".join(str(part) for part in error.absolute_path)
        raise ServiceError(
            f"{what}: the answer does not follow json_schema at {where}: {error.message}",
            retryable=True,
        )
    return value


def _schema_problem(schema: dict[str, Any]) -> str | None:
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"
    return None


CONNECTION_TYPES: tuple[ConnectionType, ...] = (OPENAI,)
NODE_TYPES: tuple[type[NodeType], ...] = (LlmChatNode,)
