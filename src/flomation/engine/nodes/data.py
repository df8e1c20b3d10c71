"""Data node types: set, log, delay."""

from __future__ import annotations

import asyncio

from flomation.engine.nodes.base import NodeContext, NodeOutcome, NodeType

__all__ = ["DelayNode", "LogNode", "SetNode"]


class SetNode(NodeType):
    type = "set"
    title = "Set values"
    description = "Evaluates a mapping of names to values (strings are templates)."
    icon = "braces"
    group = "data"
    config_schema = {
        "type": "object",
        "properties": {
            "values": {
                "type": "object",
                "title": "Values",
                "description": "Name to any JSON value; strings in it are templates. "
                "The node outputs the evaluated mapping.",
            }
        },
        "required": ["values"],
        "additionalProperties": False,
    }
    output_schema = {"type": "object", "additionalProperties": True}
    retryable = False
    pure = True

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        return NodeOutcome(ctx.config["values"])


class LogNode(NodeType):
    type = "log"
    title = "Log"
    description = "Writes a line to the execution's logs."
    icon = "scroll-text"
    group = "data"
    config_schema = {
        "type": "object",
        "properties": {
            "message": {
                "type": "string",
                "title": "Message",
                "description": "The line to log (a template).",
            },
            "level": {
                "enum": ["debug", "info", "warning", "error"],
                "default": "info",
                "title": "Level",
            },
        },
        "required": ["message"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
    }
    retryable = False
    pure = True

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        message = str(ctx.config["message"])
        ctx.log(ctx.config.get("level", "info"), message)
        return NodeOutcome({"message": message})


class DelayNode(NodeType):
    type = "delay"
    title = "Delay"
    description = "Waits the given number of seconds."
    icon = "timer"
    group = "data"
    config_schema = {
        "type": "object",
        "properties": {
            "seconds": {
                "type": "number",
                "minimum": 0,
                "maximum": 31_536_000,
                "title": "Seconds",
                "description": "How long to wait (at most a year).",
            }
        },
        "required": ["seconds"],
        "additionalProperties": False,
    }
    output_schema = {"type": "object"}

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        await asyncio.sleep(float(ctx.config["seconds"]))
        return NodeOutcome({})
