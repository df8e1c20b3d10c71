"""Starting, refusing, restarting and closing the code runner."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import sysconfig
from pathlib import Path
from typing import Literal

import pytest

from flomation.engine.isolation import CodeRunner, IsolationSettings, IsolationUnavailable, Limits
from tests.engine.isolation.processes import descendants, wait_until_all_gone, wait_until_gone
from tests.engine.isolation.sandbox import readable_by_others, sandbox_settings

FAST = Limits(timeout_s=10)
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only a root runner must refuse")


@as_root
async def test_a_root_runner_without_a_sandbox_user_refuses_code() -> None:
    runner = CodeRunner(sandbox_settings(sandbox_user="no-such-user-here"))
    await runner.start()
    try:
        with pytest.raises(IsolationUnavailable) as refusal:
            await runner.run_python("def main(ctx):\n    return 1\n", {}, FAST)
        with pytest.raises(IsolationUnavailable):
            await runner.run_shell("true", {}, FAST)
    finally:
        await runner.aclose()
    assert "'no-such-user-here' does not exist" in refusal.value.message
    assert "runs as root" in refusal.value.message
    assert runner.fork_server_pid is None


@as_root
async def test_the_operator_can_accept_unisolated_code() -> None:
    runner = CodeRunner(sandbox_settings(sandbox_user="no-such-user-here", allow_unisolated=True))
    await runner.start()
    try:
        result = await runner.run_python(
            "import os\ndef main(ctx):\n    return os.getuid()\n", {}, FAST
        )
    finally:
        await runner.aclose()
    assert result.value == 0
    assert "UNISOLATED" in runner.mode.description


@as_root
@pytest.mark.skipif(
    readable_by_others(Path(sysconfig.get_paths()["stdlib"])),
    reason="this interpreter's standard library is readable by the sandbox user",
)
async def test_an_interpreter_the_sandbox_user_cannot_read_is_refused() -> None:
    runner = CodeRunner(sandbox_settings(python_executable=sys.executable))
    await runner.start()
    try:
        with pytest.raises(IsolationUnavailable, match="cannot read the Python standard library"):
            await runner.run_python("def main(ctx):\n    return 1\n", {}, FAST)
        shell = await runner.run_shell("echo still fine", {}, FAST)
    finally:
        await runner.aclose()
    assert shell.stdout == "still fine\n"


@as_root
@pytest.mark.skipif(
    readable_by_others(Path(sysconfig.get_paths()["stdlib"])),
    reason="this interpreter's standard library is readable by the sandbox user",
)
@pytest.mark.parametrize("sandbox", ["require", "off"])
async def test_by_default_an_interpreter_the_sandbox_user_can_read_is_chosen(
    sandbox: Literal["require", "off"],
) -> None:
    # With the sandbox, an unreachable interpreter must not cost shell runs their sandbox.
    runner = CodeRunner(IsolationSettings(sandbox=sandbox))
    await runner.start()
    try:
        result = await runner.run_python(
            "import subprocess\ndef main(ctx):\n    return 'imported'\n", {}, FAST
        )
        shell = await runner.run_shell("echo $$", {}, FAST)
    finally:
        await runner.aclose()
    assert result.value == "imported"
    assert runner.python_executable != sys.executable
    assert runner.sandboxed == (sandbox == "require")
    assert (shell.stdout == "2\n") == runner.sandboxed  # pid 2 of its own namespace


async def test_a_dead_fork_server_is_replaced() -> None:
    runner = CodeRunner(sandbox_settings())
    await runner.start()
    try:
        first = runner.fork_server_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert await wait_until_gone(first)
        for _ in range(100):  # until the runner noticed the EOF
            if runner.fork_server_pid is None:
                break
            await asyncio.sleep(0.01)
        result = await runner.run_python("def main(ctx):\n    return 'again'\n", {}, FAST)
        assert result.value == "again"
        assert runner.fork_server_pid not in (None, first)
    finally:
        await runner.aclose()


async def test_a_run_in_flight_when_the_fork_server_dies_fails_clearly() -> None:
    runner = CodeRunner(sandbox_settings())
    await runner.start()
    try:
        started: asyncio.Queue[str] = asyncio.Queue()
        task = asyncio.create_task(
            runner.run_python(
                "import time\ndef main(ctx):\n    print('started')\n    time.sleep(60)\n",
                {},
                Limits(timeout_s=60),
                on_log=lambda line: started.put_nowait(line.text),
            )
        )
        await asyncio.wait_for(started.get(), 10)
        server = runner.fork_server_pid
        assert server is not None
        processes = descendants(server)
        assert processes
        os.kill(server, signal.SIGKILL)
        with pytest.raises(IsolationUnavailable, match="fork server stopped"):
            await asyncio.wait_for(task, 10)
        # The child dies with its parent (PR_SET_PDEATHSIG), and the sandbox with the child.
        assert await wait_until_all_gone(processes)
    finally:
        await runner.aclose()


async def test_closing_the_runner_kills_running_code() -> None:
    runner = CodeRunner(sandbox_settings())
    await runner.start()
    started: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        runner.run_shell(
            "echo started; sleep 60",
            {},
            Limits(timeout_s=60),
            on_log=lambda line: started.put_nowait(line.text),
        )
    )
    await asyncio.wait_for(started.get(), 10)
    server = runner.fork_server_pid
    assert server is not None
    processes = descendants(server)
    assert processes
    await runner.aclose()
    with pytest.raises(IsolationUnavailable):
        await asyncio.wait_for(task, 10)
    assert await wait_until_all_gone(processes)
    assert await wait_until_gone(server)


async def test_a_fork_server_that_cannot_start_is_a_clear_error() -> None:
    runner = CodeRunner(sandbox_settings(python_executable="/bin/false"))
    with pytest.raises(IsolationUnavailable, match="exited with code 1 while starting"):
        await runner.start()
    missing = CodeRunner(sandbox_settings(python_executable="/no/such/python"))
    with pytest.raises(IsolationUnavailable, match="could not start the fork server"):
        await missing.start()


async def test_without_the_sandbox_the_next_start_removes_a_killed_servers_run_directories(
    tmp_path: Path,
) -> None:
    def runner() -> CodeRunner:
        return CodeRunner(sandbox_settings(sandbox="off", work_root=str(tmp_path)))

    neighbour, doomed = runner(), runner()
    await neighbour.start()
    await doomed.start()
    started: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        doomed.run_python(
            "import time\ndef main(ctx):\n    print('started')\n    time.sleep(60)\n",
            {},
            Limits(timeout_s=60),
            on_log=lambda line: started.put_nowait(line.text),
        )
    )
    await asyncio.wait_for(started.get(), 10)
    server = doomed.fork_server_pid
    assert server is not None
    # The server and its run killed at once, as kill -9 of a process tree would.
    for pid in [server, *descendants(server)]:
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(IsolationUnavailable):
        await asyncio.wait_for(task, 10)
    await doomed.aclose()
    left = [path for path in tmp_path.iterdir() if any(path.glob("flomation-run-*"))]
    assert len(left) == 1  # the killed server's, with the run's directory in it
    successor = runner()
    await successor.start()
    try:
        assert not left[0].exists()
        # A live server's directory is kept: its runs go on.
        still = await neighbour.run_shell("echo fine", {}, FAST)
        assert still.stdout == "fine\n"
    finally:
        await successor.aclose()
        await neighbour.aclose()
    assert list(tmp_path.iterdir()) == []  # servers that stop remove their own
