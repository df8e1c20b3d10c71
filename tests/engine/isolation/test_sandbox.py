"""The bubblewrap sandbox of each run, its fallback, and the runner's ceilings."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flomation.engine.isolation import (
    CodeFailed,
    CodeRunner,
    CodeTimedOut,
    IsolationUnavailable,
    Limits,
)
from flomation.engine.isolation.limits import Ceilings
from tests.engine.isolation.sandbox import sandbox_settings

FAST = Limits(timeout_s=10)


def code(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


@pytest.fixture(scope="module")
async def sandboxed() -> AsyncIterator[CodeRunner]:
    runner = CodeRunner(sandbox_settings(sandbox="require"))
    await runner.start()
    assert runner.sandboxed, runner.sandbox_problem
    yield runner
    await runner.aclose()


async def test_code_sees_only_its_own_processes(sandboxed: CodeRunner) -> None:
    started: asyncio.Queue[str] = asyncio.Queue()
    neighbour = asyncio.create_task(
        sandboxed.run_shell(
            "echo started; sleep 5",
            {"API_TOKEN": "other-execution-secret"},
            FAST,
            on_log=lambda line: started.put_nowait(line.text),
        )
    )
    await asyncio.wait_for(started.get(), 10)
    try:
        seen = await sandboxed.run_python(
            code("""
            import os
            def main(ctx):
                found = {}
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        found[pid] = open(f"/proc/{pid}/cmdline", "rb").read().decode()
                        found[pid] += open(f"/proc/{pid}/environ", "rb").read().decode()
                    except OSError:
                        pass
                return found
            """),
            {},
            FAST,
        )
    finally:
        neighbour.cancel()
        with pytest.raises(asyncio.CancelledError):
            await neighbour
    # Its namespace's init (bubblewrap) and itself: no runner, no fork server, no neighbour.
    assert sorted(seen.value) == ["1", "2"]
    assert "other-execution-secret" not in str(seen.value)
    assert "sleep" not in str(seen.value)


async def test_files_a_run_leaves_are_gone_for_the_next(sandboxed: CodeRunner) -> None:
    places = ["/tmp", "/var/tmp", "/dev/shm", "."]
    write = code(f"""
        import os
        def main(ctx):
            for place in {places!r}:
                with open(os.path.join(place, "left-behind"), "w") as f:
                    f.write("from an earlier run")
            return "written"
        """)
    look = code(f"""
        import os
        def main(ctx):
            return {{place: os.listdir(place) for place in {places!r}}}
        """)
    assert (await sandboxed.run_python(write, {}, FAST)).value == "written"
    after_python = await sandboxed.run_python(look, {}, FAST)
    after_shell = await sandboxed.run_shell("ls -A /tmp /var/tmp /dev/shm .", {}, FAST)
    assert after_python.value == {place: [] for place in places}
    assert "left-behind" not in after_shell.stdout
    assert not os.path.exists("/tmp/left-behind")  # nothing reached the host either


async def test_a_disk_quota_stops_a_big_write_with_a_clear_error(sandboxed: CodeRunner) -> None:
    big_write = code("""
        def main(ctx):
            with open("/tmp/big", "wb") as f:
                for _ in range(8):
                    f.write(b"x" * 1024 * 1024)
        """)
    with pytest.raises(CodeFailed) as failure:
        await sandboxed.run_python(big_write, {}, Limits(timeout_s=10, disk_mb=2))
    assert "No space left on device" in failure.value.message
    assert "hold at most 2 MB each" in failure.value.message
    shell = await sandboxed.run_shell(
        "head -c 8000000 /dev/zero > big", {}, Limits(timeout_s=10, disk_mb=2)
    )
    assert shell.exit_code != 0
    assert "No space left on device" in shell.stderr


async def test_only_system_directories_are_there_and_read_only(sandboxed: CodeRunner) -> None:
    hidden = ["/root", "/home", "/var/lib", "/srv", os.path.dirname(__file__)]
    result = await sandboxed.run_shell(
        f"ls -A /; ls -A /run | wc -l; for d in {' '.join(hidden)}; do "
        "test -e $d && echo visible $d; done; touch /usr/x /etc/x /x 2>&1 | wc -l",
        {},
        FAST,
    )
    lines = result.stdout.split("\n")
    top = set(lines[: lines.index("0")])  # ls -A / ends where /run's (empty) count starts
    system = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin"}
    # Besides: its private mounts, and the interpreter's prefix when it is a venv elsewhere.
    private = {"tmp", "var", "workdir"}
    prefixes = (
        {sys.prefix, sys.base_prefix} if sandboxed.python_executable == sys.executable else set()
    )
    assert top <= system | private | {"usr"} | {p.split("/")[1] for p in prefixes}
    assert "visible" not in result.stdout
    assert lines[-2] == "3"  # three "Read-only file system" errors


async def test_the_network_can_be_taken_away_without_root() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        offline = CodeRunner(sandbox_settings(sandbox="require", isolate_network=True))
        await offline.start()
        try:
            with pytest.raises(CodeFailed, match="Connection refused"):
                await offline.run_python(
                    code(f"""
                    import socket
                    def main(ctx):
                        socket.create_connection(("127.0.0.1", {port}), timeout=2)
                    """),
                    {},
                    FAST,
                )
            shell = await offline.run_shell("cat /proc/net/dev | wc -l", {}, FAST)
        finally:
            await offline.aclose()
    assert int(shell.stdout) == 3  # two header lines and lo: no interface of the host


async def test_a_flow_cannot_raise_the_memory_ceiling() -> None:
    runner = CodeRunner(sandbox_settings(sandbox="require", ceilings=Ceilings(memory_mb=128)))
    await runner.start()
    try:
        with pytest.raises(CodeFailed) as failure:
            await runner.run_python(
                "def main(ctx):\n    return len(bytearray(400 * 1024 * 1024))\n",
                {},
                Limits(timeout_s=10, memory_mb=4096),
            )
    finally:
        await runner.aclose()
    assert failure.value.reason == "memory"
    assert "memory limit of 128 MB (this runner's ceiling)" in failure.value.message


async def test_a_flow_cannot_raise_the_time_ceiling() -> None:
    runner = CodeRunner(sandbox_settings(sandbox="require", ceilings=Ceilings(timeout_s=1)))
    await runner.start()
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        with pytest.raises(CodeTimedOut, match=r"within 1 s \(this runner's ceiling\)"):
            await runner.run_shell("sleep 30", {}, Limits(timeout_s=3600))
    finally:
        await runner.aclose()
    assert loop.time() - began < 10


def test_ceilings_lower_only_what_is_above_them() -> None:
    ceilings = Ceilings(memory_mb=1024, timeout_s=900, cpu_s=60, output_bytes=5000, disk_mb=64)
    asked = Limits(timeout_s=3600, memory_mb=512, max_output_bytes=100, disk_mb=1024)
    got = ceilings.clamp(asked)
    assert (got.timeout_s, got.memory_mb, got.max_output_bytes) == (900, 512, 100)
    assert (got.max_result_bytes, got.disk_mb, got.cpu_s) == (5000, 64, 60)
    assert got.capped == {"timeout_s", "max_result_bytes", "disk_mb", "cpu_s"}
    small = ceilings.clamp(Limits(timeout_s=5))
    assert small.cpu_s == 6  # the timeout's own backstop, below the ceiling
    assert "cpu_s" not in small.capped


async def test_without_bwrap_it_falls_back_and_says_what_it_cannot_isolate() -> None:
    runner = CodeRunner(sandbox_settings(bwrap="/no/such/bwrap"))
    await runner.start()
    try:
        result = await runner.run_shell("echo still runs", {}, FAST)
    finally:
        await runner.aclose()
    assert result.stdout == "still runs\n"
    assert not runner.sandboxed
    gaps = "\n".join(runner.gaps())
    assert "/no/such/bwrap" in gaps
    for gap in ("/proc", "/dev/shm", "disk quota"):
        assert gap in gaps
    assert "network" in gaps
    assert "no sandbox" in runner.describe()


async def test_a_bwrap_that_cannot_make_its_sandbox_means_the_fallback() -> None:
    runner = CodeRunner(sandbox_settings(bwrap="/bin/false"))
    await runner.start()
    try:
        result = await runner.run_python("def main(ctx):\n    return 'ran'\n", {}, FAST)
    finally:
        await runner.aclose()
    assert result.value == "ran"
    assert "bubblewrap cannot create its sandbox here" in runner.sandbox_problem


async def test_a_runner_that_requires_the_sandbox_refuses_code_without_it() -> None:
    runner = CodeRunner(sandbox_settings(sandbox="require", bwrap="/bin/false"))
    await runner.start()
    try:
        with pytest.raises(IsolationUnavailable, match="require the code sandbox"):
            await runner.run_shell("true", {}, FAST)
    finally:
        await runner.aclose()
    assert runner.fork_server_pid is None
    assert "refused" in runner.describe()


@pytest.mark.skipif(os.geteuid() == 0, reason="a root runner can take the network away itself")
async def test_without_the_sandbox_a_runner_that_cannot_cut_the_network_refuses_code() -> None:
    runner = CodeRunner(sandbox_settings(sandbox="off", isolate_network=True))
    await runner.start()
    with pytest.raises(IsolationUnavailable, match="no network"):
        await runner.run_shell("true", {}, FAST)
    await runner.aclose()


@pytest.mark.skipif(os.geteuid() != 0, reason="writes a file under /etc")
async def test_the_runners_own_files_in_a_shown_directory_are_covered() -> None:
    token_file = Path(f"/etc/flomation-test-token-{os.getpid()}")
    token_file.write_text("flo_r_must_stay_hidden")
    token_file.chmod(0o644)  # readable by the sandbox user, as a non-root runner's own file
    runner = CodeRunner(sandbox_settings(sandbox="require", hidden_paths=(str(token_file),)))
    await runner.start()
    try:
        result = await runner.run_shell(f"cat {token_file}; echo; cat /etc/hostname", {}, FAST)
    finally:
        await runner.aclose()
        token_file.unlink()
    assert "flo_r_must_stay_hidden" not in result.stdout
    assert result.stdout.split("\n")[1]  # the rest of /etc is there
