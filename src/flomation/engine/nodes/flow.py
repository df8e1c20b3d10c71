"""Flow-shaping node types: start, on_error, return, fail, merge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

from flomation.engine.nodes.base import FailError, NodeContext, NodeOutcome, NodeType

__all__ = ["FailNode", "MergeNode", "OnErrorNode", "ReturnNode", "StartNode", "check_input"]


class StartNode(NodeType):
    type = "start"
    title = "Start"
    description = "Where every execution begins; its output is the execution's input."
    icon = "play"
    group = "flow"
    config_schema = {
        "type": "object",
        "properties": {
            "input_schema": {
                "type": "object",
                "title": "Input schema",
                "description": "JSON Schema the input must match when an execution is requested.",
                "x-template": False,
            }
        },
        "additionalProperties": False,
    }
    output_schema = {"description": "The execution's input."}
    ports = ("success",)
    retryable = False
    pure = True

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        schema = config.get("input_schema")
        if not isinstance(schema, dict):
            return []
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            return [("input_schema", f"not a valid JSON Schema: {exc.message}")]
        return []

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        return NodeOutcome(ctx.input)


def check_input(start_config: Mapping[str, Any], value: Any) -> list[dict[str, Any]]:
    """Problems of an execution input against the start node's `input_schema` (API: 422).

    Each problem is `{"loc": ["input", ...], "msg": ...}`; an empty list means it fits.
    """
    schema = start_config.get("input_schema")
    if not isinstance(schema, dict):
        return []
    validator = jsonschema.Draft202012Validator(schema)
    return [
        {"loc": ["input", *error.absolute_path], "msg": error.message}
        for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    ]


class OnErrorNode(NodeType):
    type = "on_error"
    title = "On error"
    description = (
        "Runs its branch when the execution fails without a handler; `error` is in scope. "
        "At most one per flow, with no incoming edges."
    )
    icon = "alert-triangle"
    group = "flow"
    config_schema = {"type": "object", "additionalProperties": False}
    output_schema = {
        "type": "object",
        "properties": {
            "node_id": {"type": "string"},
            "type": {"type": "string"},
            "message": {"type": "string"},
            "attempt": {"type": "integer"},
        },
    }
    ports = ("success",)
    retryable = False
    pure = True

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        return NodeOutcome(dict(ctx.error) if ctx.error is not None else None)


class ReturnNode(NodeType):
    type = "return"
    title = "Return"
    description = "Ends the execution successfully with `value` as its output."
    icon = "corner-down-left"
    group = "flow"
    config_schema = {
        "type": "object",
        "properties": {
            "value": {
                "title": "Value",
                "description": "The execution's output (any JSON; strings are templates).",
            }
        },
        "additionalProperties": False,
    }
    output_schema = {"description": "The value."}
    ports = ()
    retryable = False
    pure = True

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        return NodeOutcome(ctx.config.get("value"))


class FailNode(NodeType):
    type = "fail"
    title = "Fail"
    description = "Fails the node with type `fail` and the given message."
    icon = "x-octagon"
    group = "flow"
    config_schema = {
        "type": "object",
        "properties": {
            "message": {
                "type": "string",
                "title": "Message",
                "description": "Why the flow fails (a template); the error's message.",
            }
        },
        "required": ["message"],
        "additionalProperties": False,
    }
    ports = ()
    retryable = False
    pure = True

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        raise FailError(str(ctx.config["message"]))


class MergeNode(NodeType):
    type = "merge"
    title = "Merge"
    description = "Waits for its incoming branches; outputs `{source_id: output}` of those taken."
    icon = "git-merge"
    group = "flow"
    config_schema = {"type": "object", "additionalProperties": False}
    output_schema = {"type": "object", "additionalProperties": True}
    retryable = False
    pure = True

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        merged: dict[str, Any] = {}
        for source in ctx.taken_from:
            result = ctx.nodes.get(source)
            merged[source] = None if result is None else result.get("output")
        return NodeOutcome(merged)
