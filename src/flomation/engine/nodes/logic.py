"""Branching node types: condition and switch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flomation.engine.nodes.base import ConfigError, NodeContext, NodeOutcome, NodeType

__all__ = ["ConditionNode", "SwitchNode", "case_key"]

_RESERVED_PORTS = ("default", "error")


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false", ""):
            return text == "true"
        raise ConfigError(
            f"expression gave the text {value!r}; expected a boolean "
            "(write it as one expression, e.g. {{ input.n > 3 }})",
            field="expression",
        )
    return bool(value)


class ConditionNode(NodeType):
    type = "condition"
    title = "Condition"
    description = "Chooses port `true` or `false` by an expression."
    icon = "git-branch"
    group = "logic"
    config_schema = {
        "type": "object",
        "properties": {
            "expression": {
                "title": "Condition",
                "description": "A template giving a boolean, e.g. {{ input.n > 3 }}: "
                "true takes the true port, false the false port.",
            }
        },
        "required": ["expression"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {"result": {"type": "boolean"}},
        "required": ["result"],
    }
    ports = ("true", "false", "error")
    retryable = False
    pure = True

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        result = _truth(ctx.config["expression"])
        return NodeOutcome({"result": result}, "true" if result else "false")


def case_key(value: Any) -> str:
    """How a switch value compares with its (string) cases: JSON spelling for non-strings."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


class SwitchNode(NodeType):
    type = "switch"
    title = "Switch"
    description = "Chooses the port named by the case equal to `value`, else `default`."
    icon = "list-tree"
    group = "logic"
    config_schema = {
        "type": "object",
        "properties": {
            "value": {
                "title": "Value",
                "description": "A template; compared as text with each case.",
            },
            "cases": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
                "title": "Cases",
                "description": "One output port per case; no match takes the default port.",
                "x-template": False,
            },
        },
        "required": ["value", "cases"],
        "additionalProperties": False,
    }
    output_schema = {"type": "object", "properties": {"value": {}}, "required": ["value"]}
    # Plus one port per case (see ports_for).
    ports = ("default", "error")
    retryable = False
    pure = True

    def ports_for(self, config: Mapping[str, Any]) -> tuple[str, ...]:
        cases = config.get("cases")
        names = [c for c in cases if isinstance(c, str)] if isinstance(cases, list) else []
        return (*[c for c in names if c not in _RESERVED_PORTS], "default", "error")

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        cases = config.get("cases")
        if not isinstance(cases, list):
            return []
        return [
            (f"cases.{i}", f"a case may not be named {case!r}: it is a reserved port")
            for i, case in enumerate(cases)
            if case in _RESERVED_PORTS
        ]

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        value = ctx.config["value"]
        key = case_key(value)
        port = key if key in ctx.config["cases"] else "default"
        return NodeOutcome({"value": value}, port)
