"""Shell commands run in the same sandbox as python code."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from flomation.engine.isolation import CodeFailed, CodeRunner, CodeTimedOut, Limits, LogLine
from tests.engine.isolation.processes import (
    processes_with,
    run_processes,
    wait_until_all_gone,
)

FAST = Limits(timeout_s=10)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs a root runner to switch users")


async def test_output_and_exit_code_are_returned(code_runner: CodeRunner) -> None:
    result = await code_runner.run_shell("echo out; echo err >&2; exit 3", {}, FAST)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")


async def test_the_environment_is_only_what_the_node_passes(
    code_runner: CodeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOMATION_RUNNER_KEY", "do-not-leak")
    result = await code_runner.run_shell("env", {"GREETING": "hello world"}, FAST)
    names = {line.split("=", 1)[0] for line in result.stdout.splitlines()}
    # PWD is set by the shell itself.
    assert names == {"GREETING", "PATH", "HOME", "TMPDIR", "LANG", "PWD"}
    assert "GREETING=hello world" in result.stdout.splitlines()
    assert "do-not-leak" not in result.stdout


async def test_lines_can_be_streamed(code_runner: CodeRunner) -> None:
    seen: list[LogLine] = []
    await code_runner.run_shell("echo one; echo two", {}, FAST, on_log=seen.append)
    assert [line.text for line in seen] == ["one", "two"]


async def test_stdin_is_empty(code_runner: CodeRunner) -> None:
    result = await code_runner.run_shell("cat; echo done", {}, FAST)
    assert result.stdout == "done\n"


async def test_the_working_directory_is_empty_and_removed(code_runner: CodeRunner) -> None:
    result = await code_runner.run_shell("pwd; ls -A | wc -l; touch left-behind", {}, FAST)
    workdir, entries = result.stdout.split()
    assert entries == "0"
    assert not os.path.exists(workdir)


@as_root
async def test_commands_run_as_the_sandbox_user(code_runner: CodeRunner, tmp_path: Path) -> None:
    private = tmp_path / "data"
    private.mkdir(mode=0o700)
    (private / "runner.key").write_text("secret key")
    result = await code_runner.run_shell(f"id -u; cat {private}/runner.key", {}, FAST)
    assert result.stdout == "65534\n"
    # The sandbox does not even show the host's directory; without it, permissions hold.
    expected = "No such file or directory" if code_runner.sandboxed else "Permission denied"
    assert expected in result.stderr
    assert result.exit_code == 1


async def test_timeout_kills_background_children_too(code_runner: CodeRunner) -> None:
    started: asyncio.Queue[str] = asyncio.Queue()
    run = asyncio.create_task(
        code_runner.run_shell(
            "sleep 60 & echo started; wait",
            {},
            Limits(timeout_s=2),
            on_log=lambda line: started.put_nowait(line.text),
        )
    )
    await asyncio.wait_for(started.get(), 10)
    assert code_runner.fork_server_pid is not None
    processes = await run_processes(code_runner)  # the shell and its sleep, at least
    assert len(processes) >= 2
    with pytest.raises(CodeTimedOut):
        await run
    assert await wait_until_all_gone(processes)


@as_root
async def test_a_fork_bomb_is_contained(code_runner: CodeRunner) -> None:
    result = await code_runner.run_shell(
        "bomb() { bomb | bomb & }; bomb; sleep 0.5; echo survived",
        {},
        Limits(timeout_s=5, max_processes=20),
    )
    assert "fork" in result.stderr.lower() or "resource" in result.stderr.lower()
    after = await code_runner.run_shell("echo alive", {}, FAST)
    assert after.stdout == "alive\n"


async def test_too_much_output_is_stopped(code_runner: CodeRunner) -> None:
    with pytest.raises(CodeFailed) as failure:
        await code_runner.run_shell("yes", {}, Limits(timeout_s=10, max_output_bytes=100_000))
    assert failure.value.reason == "output_limit"


async def test_file_size_is_limited(code_runner: CodeRunner) -> None:
    result = await code_runner.run_shell(
        "head -c 3000000 /dev/zero > big; echo $?", {}, Limits(timeout_s=10, max_file_size_mb=1)
    )
    # head was killed by SIGXFSZ when its file reached 1 MB.
    assert int(result.stdout) == 128 + signal.SIGXFSZ


async def test_cancelling_kills_the_command(code_runner: CodeRunner) -> None:
    started: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        code_runner.run_shell(
            "echo started; sleep 60",
            {},
            Limits(timeout_s=60),
            on_log=lambda line: started.put_nowait(line.text),
        )
    )
    await asyncio.wait_for(started.get(), 10)
    assert code_runner.fork_server_pid is not None
    processes = await run_processes(code_runner)
    assert processes
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until_all_gone(processes, within_s=1.0)


async def test_a_daemonized_process_is_killed_too(code_runner: CodeRunner) -> None:
    # The inner shell is in a session of its own, then becomes sleep.
    marker = "60.0303"
    await code_runner.run_shell(f"setsid sh -c 'exec sleep {marker}' & sleep 0.2", {}, FAST)
    for _ in range(150):
        if not processes_with(f"sleep\0{marker}"):
            break
        await asyncio.sleep(0.02)
    assert processes_with(f"sleep\0{marker}") == []
