"""The `python` node: runs the user's `main(ctx)` in the isolated code sandbox."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from flomation.engine.isolation.errors import IsolationError
from flomation.engine.isolation.nodes import limits_for, node_error, require_code_runner
from flomation.engine.isolation.runner import LogLine
from flomation.engine.nodes.base import ConfigError, NodeContext, NodeOutcome, NodeType

__all__ = ["PythonNode"]

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MEMORY_MB = 256
NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
_NAMES = {
    "type": "array",
    "items": {"type": "string", "pattern": NAME_PATTERN},
    "uniqueItems": True,
    "x-template": False,
}


class PythonNode(NodeType):
    type = "python"
    title = "Python"
    description = (
        "Runs Python code that defines main(ctx) in an isolated process; main's return value "
        "is the output. ctx holds input, nodes, and the vars and secrets named in the config. "
        "Printed lines go to the execution's logs."
    )
    icon = "code"
    group = "code"
    config_schema = {
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "minLength": 1,
                "x-template": False,
                "title": "Code",
                "default": 'def main(ctx):\n    return {"input": ctx["input"]}\n',
                "description": "Python source defining def main(ctx).",
            },
            "vars": {
                **_NAMES,
                "title": "Variables",
                "description": "Organisation variables passed in ctx['vars'].",
            },
            "secrets": {
                **_NAMES,
                "title": "Secrets",
                "description": "Secrets passed in ctx['secrets'].",
            },
            "timeout_s": {
                "title": "Timeout (s)",
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 3600,
                "default": DEFAULT_TIMEOUT_S,
                "description": "Wall-clock limit; the runner's ceiling (default 900) caps it.",
            },
            "memory_mb": {
                "title": "Memory (MB)",
                "type": "integer",
                "minimum": 32,
                "maximum": 65536,
                "default": DEFAULT_MEMORY_MB,
                "description": "Memory limit; the runner's ceiling (default 1024) caps it.",
            },
        },
        "required": ["code"],
        "additionalProperties": False,
    }
    output_schema = {"description": "Whatever main(ctx) returns (JSON)."}

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        code = config.get("code")
        if not isinstance(code, str):
            return []
        # Parsing only (never compiling or running): the API can report a typo at save time.
        try:
            tree = ast.parse(code, "<node code>")
        except SyntaxError as exc:
            return [("code", f"line {exc.lineno}: {exc.msg}")]
        except ValueError as exc:  # e.g. a NUL byte in the source
            return [("code", str(exc))]
        if not any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main"
            for node in tree.body
        ):
            return [("code", "the code must define a function main(ctx)")]
        return []

    def references(self, config: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
        return _names(config.get("vars")), _names(config.get("secrets"))

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        runner = require_code_runner(ctx)
        config = ctx.config
        code_ctx = {
            "input": ctx.input,
            "nodes": {node_id: dict(state) for node_id, state in ctx.nodes.items()},
            "vars": _pick(ctx.vars, config.get("vars", []), "vars", "variable"),
            "secrets": _pick(ctx.secrets, config.get("secrets", []), "secrets", "secret"),
            "execution": {"id": ctx.execution.execution_id, "attempt": ctx.execution.attempt},
            "flow": {"id": ctx.execution.flow_id, "revision": ctx.execution.flow_revision},
        }
        limits = limits_for(
            ctx,
            timeout_s=float(config.get("timeout_s", DEFAULT_TIMEOUT_S)),
            memory_mb=int(config.get("memory_mb", DEFAULT_MEMORY_MB)),
        )

        def log(line: LogLine) -> None:
            ctx.log("info" if line.stream == "stdout" else "warning", line.text)

        try:
            result = await runner.run_python(config["code"], code_ctx, limits, on_log=log)
        except IsolationError as exc:
            raise node_error(exc) from None
        return NodeOutcome(result.value)


def _names(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(name for name in value if isinstance(name, str))


def _pick(
    available: Mapping[str, Any], names: Iterable[str], field: str, what: str
) -> dict[str, Any]:
    picked = {}
    for name in names:
        if name not in available:
            raise ConfigError(f"{what} {name!r} is not available to this execution", field=field)
        picked[name] = available[name]
    return picked
