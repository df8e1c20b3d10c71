"""The `shell` node: runs a command with /bin/sh in the isolated code sandbox."""

from __future__ import annotations

import json
from typing import Any

from flomation.engine.isolation.errors import IsolationError
from flomation.engine.isolation.nodes import limits_for, node_error, require_code_runner
from flomation.engine.isolation.runner import disk_full_note
from flomation.engine.nodes.base import CodeError, NodeContext, NodeOutcome, NodeType

__all__ = ["ShellNode"]

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MB = 512
STDERR_EXCERPT_CHARS = 500


class ShellNode(NodeType):
    type = "shell"
    title = "Shell command"
    description = (
        "Runs a command with /bin/sh in an isolated process. Values reach it through the "
        "templated env (the command itself is not a template). A non-zero exit fails the "
        "node unless allow_failure is set."
    )
    icon = "terminal"
    group = "code"
    config_schema = {
        "type": "object",
        "properties": {
            "command": {
                "type": "string",
                "minLength": 1,
                "x-template": False,
                "title": "Command",
                "description": 'Shell script, e.g. echo "$NAME". Not a template: use env.',
            },
            "env": {
                "type": "object",
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                "title": "Environment",
                "description": "Environment variables; values are templates.",
            },
            "allow_failure": {
                "type": "boolean",
                "default": False,
                "title": "Allow failure",
                "description": "A non-zero exit code succeeds (the output carries it) "
                "instead of failing the node.",
            },
            "timeout_s": {
                "title": "Timeout (s)",
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 86400,
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
        "required": ["command"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {
            "exit_code": {"type": "integer"},
            "stdout": {"type": "string"},
            "stderr": {"type": "string"},
        },
        "required": ["exit_code", "stdout", "stderr"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        runner = require_code_runner(ctx)
        config = ctx.config
        env = {name: _env_text(value) for name, value in (config.get("env") or {}).items()}
        limits = limits_for(
            ctx,
            timeout_s=float(config.get("timeout_s", DEFAULT_TIMEOUT_S)),
            memory_mb=int(config.get("memory_mb", DEFAULT_MEMORY_MB)),
        )
        try:
            result = await runner.run_shell(config["command"], env, limits)
        except IsolationError as exc:
            raise node_error(exc) from None
        output = {"exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}
        if result.exit_code != 0 and not config.get("allow_failure", False):
            # A full private tmpfs shows as "No space left on device": name the quota.
            quota = (
                disk_full_note(result.stderr, runner.effective(limits)) if runner.sandboxed else ""
            )
            raise CodeError(
                f"the command exited with code {result.exit_code}{_tail(result.stderr)}{quota}"
            )
        return NodeOutcome(output)


def _env_text(value: Any) -> str:
    """Strings as they are; other JSON values as JSON (true, 42, null -> "")."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value)


def _tail(stderr: str) -> str:
    text = stderr.strip()
    if not text:
        return ""
    if len(text) > STDERR_EXCERPT_CHARS:
        text = "..." + text[-STDERR_EXCERPT_CHARS:]
    return f": {text}"
