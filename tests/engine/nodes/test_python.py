"""The python node, run against a real code runner (fork server and sandboxed children)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flomation.engine.isolation import CodeRunner
from flomation.engine.nodes.base import (
    CodeError,
    ConfigError,
    EngineServices,
    ExecutionInfo,
    NodeContext,
    NodeTimeoutError,
    UnavailableError,
)
from flomation.engine.nodes.python import PythonNode
from flomation.engine.nodes.registry import default_registry
from tests.engine.isolation.processes import run_processes, wait_until_all_gone
from tests.engine.isolation.sandbox import sandbox_settings


@pytest.fixture(scope="module")
async def code_runner() -> AsyncIterator[CodeRunner]:
    runner = CodeRunner(sandbox_settings())
    await runner.start()
    yield runner
    await runner.aclose()


def make_ctx(
    config: dict[str, Any],
    code_runner: CodeRunner | None,
    *,
    logs: list[tuple[str, str]] | None = None,
    **fields: Any,
) -> NodeContext:
    return NodeContext(
        node_id="py",
        node_type="python",
        config=config,
        raw_config=config,
        execution=ExecutionInfo(execution_id="exec-1", attempt=2, flow_id="flow-1"),
        attempt=1,
        log=lambda level, message: (logs if logs is not None else []).append((level, message)),
        services=EngineServices(code_runner=code_runner),
        **fields,
    )


async def run(config: dict[str, Any], code_runner: CodeRunner | None, **fields: Any) -> Any:
    outcome = await PythonNode().run(make_ctx(config, code_runner, **fields))
    assert outcome.port == "success"
    return outcome.output


async def test_the_output_is_what_main_returns(code_runner: CodeRunner) -> None:
    output = await run(
        {"code": "def main(ctx):\n    return {'sum': sum(ctx['input']['xs'])}\n"},
        code_runner,
        input={"xs": [1, 2, 3]},
    )
    assert output == {"sum": 6}


async def test_ctx_holds_nodes_execution_and_only_the_listed_names(
    code_runner: CodeRunner,
) -> None:
    output = await run(
        {
            "code": "def main(ctx):\n    return ctx\n",
            "vars": ["REGION"],
            "secrets": ["API_KEY"],
        },
        code_runner,
        input={"n": 1},
        nodes={"fetch": {"output": {"status": 200}}},
        vars={"REGION": "eu", "TEAM": "core"},
        secrets={"API_KEY": "k-123", "DB_PASSWORD": "never-sent"},
    )
    assert output == {
        "input": {"n": 1},
        "nodes": {"fetch": {"output": {"status": 200}}},
        "vars": {"REGION": "eu"},
        "secrets": {"API_KEY": "k-123"},
        "execution": {"id": "exec-1", "attempt": 2},
        "flow": {"id": "flow-1", "revision": 0},
    }


async def test_printed_lines_become_log_lines(code_runner: CodeRunner) -> None:
    logs: list[tuple[str, str]] = []
    await run(
        {
            "code": (
                "import sys\n"
                "def main(ctx):\n"
                "    print('working')\n"
                "    print('hm', file=sys.stderr)\n"
            )
        },
        code_runner,
        logs=logs,
    )
    assert logs == [("info", "working"), ("warning", "hm")]


async def test_an_exception_is_a_code_error_with_the_users_traceback(
    code_runner: CodeRunner,
) -> None:
    with pytest.raises(CodeError) as failure:
        await run({"code": "def main(ctx):\n    raise ValueError('bad input')\n"}, code_runner)
    assert failure.value.type == "code"
    assert failure.value.retryable
    message = failure.value.message
    assert message.startswith("ValueError: bad input\n\nTraceback (most recent call last):")
    assert 'File "<node code>", line 2, in main' in message
    assert "flomation" not in message


async def test_the_node_timeout_kills_the_code(code_runner: CodeRunner) -> None:
    with pytest.raises(NodeTimeoutError, match=r"within 0\.3 s"):
        await run(
            {"code": "import time\ndef main(ctx):\n    time.sleep(30)\n", "timeout_s": 0.3},
            code_runner,
        )


async def test_the_attempt_deadline_bounds_the_code(code_runner: CodeRunner) -> None:
    with pytest.raises(NodeTimeoutError):
        await run(
            {"code": "import time\ndef main(ctx):\n    time.sleep(30)\n"},
            code_runner,
            deadline=time.monotonic() + 0.3,
        )


async def test_the_memory_limit_is_the_nodes(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeError, match="memory limit of 64 MB"):
        await run(
            {"code": "def main(ctx):\n    return bytearray(200 * 1024 * 1024)\n", "memory_mb": 64},
            code_runner,
        )


async def test_a_secret_that_is_not_available_is_a_config_error(code_runner: CodeRunner) -> None:
    with pytest.raises(ConfigError, match="secret 'MISSING'") as failure:
        await run({"code": "def main(ctx):\n    return 1\n", "secrets": ["MISSING"]}, code_runner)
    assert failure.value.field == "secrets"


async def test_without_a_code_runner_the_node_is_unavailable() -> None:
    with pytest.raises(UnavailableError, match="code sandbox") as failure:
        await run({"code": "def main(ctx):\n    return 1\n"}, None)
    assert not failure.value.retryable


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root runner must refuse")
async def test_a_runner_that_cannot_isolate_refuses_clearly() -> None:
    refusing = CodeRunner(sandbox_settings(sandbox_user="no-such-user-here"))
    await refusing.start()
    try:
        with pytest.raises(UnavailableError, match="cannot isolate code"):
            await run({"code": "def main(ctx):\n    return 1\n"}, refusing)
    finally:
        await refusing.aclose()


async def test_cancelling_the_node_kills_its_process(code_runner: CodeRunner) -> None:
    started: asyncio.Queue[str] = asyncio.Queue()
    ctx = make_ctx(
        {"code": "import time\ndef main(ctx):\n    print('started')\n    time.sleep(60)\n"},
        code_runner,
    )
    ctx.log = lambda level, message: started.put_nowait(message)
    task = asyncio.create_task(PythonNode().run(ctx))
    await asyncio.wait_for(started.get(), 10)
    # In the sandbox the code has pids of its own namespace: find its processes from the host.
    assert code_runner.fork_server_pid is not None
    processes = await run_processes(code_runner)
    assert processes
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until_all_gone(processes, within_s=1.0)


def test_check_config_reports_syntax_errors_and_a_missing_main() -> None:
    node = PythonNode()
    assert node.check_config({"code": "def main(ctx):\n    return 1\n"}) == []
    assert node.check_config({"code": "def main(ctx):\n    return (\n"}) == [
        ("code", "line 2: '(' was never closed")
    ]
    assert node.check_config({"code": "def helper():\n    pass\n"}) == [
        ("code", "the code must define a function main(ctx)")
    ]


def test_listed_names_are_declared_as_references() -> None:
    references = PythonNode().references({"code": "", "vars": ["A"], "secrets": ["S", "T"]})
    assert references == (frozenset({"A"}), frozenset({"S", "T"}))


def test_code_is_not_a_template_and_the_type_is_registered() -> None:
    schema = PythonNode.config_schema["properties"]
    assert schema["code"]["x-template"] is False
    assert isinstance(default_registry().get("python"), PythonNode)
