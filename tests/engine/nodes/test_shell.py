"""The shell node, run against a real code runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from flomation.engine.isolation import CodeRunner
from flomation.engine.nodes.base import (
    CodeError,
    EngineServices,
    ExecutionInfo,
    NodeContext,
    NodeTimeoutError,
    UnavailableError,
)
from flomation.engine.nodes.registry import default_registry
from flomation.engine.nodes.shell import ShellNode
from tests.engine.isolation.sandbox import sandbox_settings


@pytest.fixture(scope="module")
async def code_runner() -> AsyncIterator[CodeRunner]:
    runner = CodeRunner(sandbox_settings())
    await runner.start()
    yield runner
    await runner.aclose()


async def run(config: dict[str, Any], code_runner: CodeRunner | None) -> Any:
    ctx = NodeContext(
        node_id="sh",
        node_type="shell",
        config=config,
        raw_config=config,
        execution=ExecutionInfo(),
        attempt=1,
        log=lambda level, message: None,
        services=EngineServices(code_runner=code_runner),
    )
    outcome = await ShellNode().run(ctx)
    assert outcome.port == "success"
    return outcome.output


async def test_the_output_has_exit_code_stdout_and_stderr(code_runner: CodeRunner) -> None:
    output = await run({"command": "echo out; echo err >&2"}, code_runner)
    assert output == {"exit_code": 0, "stdout": "out\n", "stderr": "err\n"}


async def test_values_arrive_through_env(
    code_runner: CodeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOMATION_RUNNER_KEY", "do-not-leak")
    output = await run(
        {
            "command": 'printf "%s|%s|%s|%s|%s" "$NAME" "$COUNT" "$FLAG" "$NOTHING" '
            '"$FLOMATION_RUNNER_KEY"',
            "env": {"NAME": "a b; rm -rf /", "COUNT": 3, "FLAG": True, "NOTHING": None},
        },
        code_runner,
    )
    # The value is data, never shell syntax; and nothing of the runner's environment leaks.
    assert output["stdout"] == "a b; rm -rf /|3|true||"


async def test_a_failing_command_is_a_code_error(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeError) as failure:
        await run({"command": "echo 'no such file' >&2; exit 2"}, code_runner)
    assert failure.value.type == "code"
    assert failure.value.message == "the command exited with code 2: no such file"


async def test_allow_failure_returns_the_exit_code(code_runner: CodeRunner) -> None:
    output = await run({"command": "exit 4", "allow_failure": True}, code_runner)
    assert output == {"exit_code": 4, "stdout": "", "stderr": ""}


async def test_the_timeout_kills_the_command(code_runner: CodeRunner) -> None:
    with pytest.raises(NodeTimeoutError):
        await run({"command": "sleep 30", "timeout_s": 0.3}, code_runner)


async def test_without_a_code_runner_the_node_is_unavailable() -> None:
    with pytest.raises(UnavailableError):
        await run({"command": "true"}, None)


def test_command_is_not_a_template_and_the_type_is_registered() -> None:
    assert ShellNode.config_schema["properties"]["command"]["x-template"] is False
    assert isinstance(default_registry().get("shell"), ShellNode)
