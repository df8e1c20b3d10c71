"""Spare sandboxes: python interpreters started ahead of their runs, each used by one run."""

from __future__ import annotations

import asyncio
import os
import signal
import textwrap
import time
from collections.abc import AsyncIterator

import pytest

from flomation.engine.isolation import (
    CodeFailed,
    CodeRunner,
    CodeTimedOut,
    IsolationSettings,
    Limits,
)
from tests.engine.isolation.processes import descendants, wait_until_all_gone, wait_until_gone
from tests.engine.isolation.sandbox import sandbox_settings

FAST = Limits(timeout_s=10)
FIRST_UID, LAST_UID = 2_001_000, 2_001_999


def code(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def settings(**overrides: object) -> IsolationSettings:
    # Per-run uids where the runner may switch users, to see that spares keep theirs apart.
    if os.geteuid() == 0:
        overrides.setdefault("uid_range", (FIRST_UID, LAST_UID))
    return sandbox_settings(sandbox="require", **overrides)


async def started_runner(**overrides: object) -> CodeRunner:
    runner = CodeRunner(settings(**overrides))
    await runner.start()
    assert runner.sandboxed, runner.sandbox_problem
    return runner


async def spares_ready(runner: CodeRunner, count: int = 2) -> list[int]:
    """The spares once `count` are there and had the time to start their interpreters."""
    for _ in range(200):
        if len(runner.spare_pids) == count:
            break
        await asyncio.sleep(0.02)
    assert len(runner.spare_pids) == count
    await asyncio.sleep(0.5)
    return runner.spare_pids


@pytest.fixture(scope="module")
async def runner() -> AsyncIterator[CodeRunner]:
    runner = await started_runner()
    yield runner
    await runner.aclose()


# The code's own view of its sandbox: when its interpreter started (seconds since boot, as
# CLOCK_BOOTTIME counts them), its namespaces, its uid and its rlimits.
SELF = code("""
    import os, resource
    def main(ctx):
        stat = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
        limits = {
            name: resource.getrlimit(getattr(resource, name))
            for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE")
        }
        return {
            "started": int(stat[19]) / os.sysconf("SC_CLK_TCK"),
            "namespaces": [os.readlink(f"/proc/self/ns/{ns}") for ns in ("mnt", "pid", "user")],
            "uid": os.getuid(),
            "limits": limits,
            "tmp": sorted(os.listdir("/tmp")) + sorted(os.listdir(".")),
        }
""")
WRITE = code("""
    def main(ctx):
        open("/tmp/left-by-run-1", "w").write("secret")
        open("left-by-run-1", "w").write("secret")
        return True
""")


async def test_a_python_run_takes_a_spare_started_before_it_was_asked_for(
    runner: CodeRunner,
) -> None:
    spares = await spares_ready(runner)
    used = runner.spare_runs
    asked = time.clock_gettime(time.CLOCK_BOOTTIME)
    result = await runner.run_python(SELF, {}, FAST)
    # Its interpreter was running before the run was asked for: a spare's, not a fresh one.
    assert result.value["started"] < asked
    assert runner.spare_runs == used + 1
    # And a new spare took the place of the one used.
    await spares_ready(runner)
    assert spares[0] not in runner.spare_pids
    assert spares[1] in runner.spare_pids


async def test_consecutive_runs_never_share_a_sandbox(runner: CodeRunner) -> None:
    await spares_ready(runner)
    used = runner.spare_runs
    first = await runner.run_python(SELF, {}, FAST)
    assert (await runner.run_python(WRITE, {}, FAST)).value is True
    second = await runner.run_python(SELF, {}, FAST)
    assert runner.spare_runs == used + 3
    assert second.value["tmp"] == []  # neither /tmp nor the working directory of the writer
    if os.geteuid() == 0:
        assert first.value["uid"] != second.value["uid"]
        assert FIRST_UID <= first.value["uid"] <= LAST_UID


async def test_runs_in_spares_have_namespaces_of_their_own(runner: CodeRunner) -> None:
    """Compared while both runs live: the kernel reuses a freed namespace's number."""
    await spares_ready(runner)
    used = runner.spare_runs
    # Each reads its namespaces, then lives on while the other reads its own.
    holding = code("""
        import os, time
        def main(ctx):
            namespaces = [os.readlink(f"/proc/self/ns/{ns}") for ns in ("mnt", "pid", "user")]
            time.sleep(2)
            return {"namespaces": namespaces}
    """)
    first, second = await asyncio.gather(
        runner.run_python(holding, {}, FAST), runner.run_python(holding, {}, FAST)
    )
    assert runner.spare_runs == used + 2
    for namespace_1, namespace_2 in zip(
        first.value["namespaces"], second.value["namespaces"], strict=True
    ):
        assert namespace_1 != namespace_2


async def test_concurrent_runs_in_spares_have_their_own_uids(runner: CodeRunner) -> None:
    if os.geteuid() != 0:
        pytest.skip("per-run uids need a root runner")
    await spares_ready(runner)
    pythons, shells = await asyncio.gather(
        asyncio.gather(*(runner.run_python(SELF, {}, FAST) for _ in range(4))),
        asyncio.gather(*(runner.run_shell("id -u", {}, FAST) for _ in range(2))),
    )
    uids = [r.value["uid"] for r in pythons] + [int(r.stdout) for r in shells]
    assert len(set(uids)) == len(uids)


async def test_a_runs_own_lower_limits_apply_in_a_spare(runner: CodeRunner) -> None:
    await spares_ready(runner)
    used = runner.spare_runs
    limits = Limits(timeout_s=4, memory_mb=200, max_file_size_mb=3, max_open_files=50)
    result = await runner.run_python(SELF, {}, limits)
    assert runner.spare_runs == used + 1
    mib = 1024 * 1024
    assert result.value["limits"] == {
        "RLIMIT_AS": [200 * mib, 200 * mib],
        "RLIMIT_CPU": [limits.cpu_s, limits.cpu_s + 1],
        "RLIMIT_FSIZE": [3 * mib, 3 * mib],
        "RLIMIT_NOFILE": [50, 50],
    }


async def test_a_memory_bomb_in_a_spare_hits_the_runs_own_limit(runner: CodeRunner) -> None:
    await spares_ready(runner)
    used = runner.spare_runs
    with pytest.raises(CodeFailed) as failure:
        await runner.run_python(
            code("""
            def main(ctx):
                hog = []
                while True:
                    hog.append(bytearray(8 * 1024 * 1024))
            """),
            {},
            Limits(timeout_s=10, memory_mb=96),
        )
    assert runner.spare_runs == used + 1
    assert failure.value.reason == "memory"
    assert "96 MB" in failure.value.message
    assert "hog.append" in failure.value.traceback


async def test_cpu_and_wall_time_limits_apply_in_a_spare(runner: CodeRunner) -> None:
    await spares_ready(runner)
    used = runner.spare_runs
    with pytest.raises(CodeFailed, match="CPU time limit of 1 s"):
        await runner.run_python(
            "def main(ctx):\n    while True:\n        pass\n", {}, Limits(timeout_s=10, max_cpu_s=1)
        )
    await spares_ready(runner)
    with pytest.raises(CodeTimedOut, match="within 1 s"):
        await runner.run_python(
            "import time\ndef main(ctx):\n    time.sleep(30)\n", {}, Limits(timeout_s=1)
        )
    assert runner.spare_runs == used + 2


async def test_a_run_a_spare_cannot_serve_starts_fresh(runner: CodeRunner) -> None:
    """A spare's tmpfs mounts already have their size: a run with a smaller disk quota gets a
    sandbox of its own making."""
    await spares_ready(runner)
    used = runner.spare_runs
    result = await runner.run_python(
        code("""
        import os
        def main(ctx):
            tmp = os.statvfs("/tmp")
            return tmp.f_blocks * tmp.f_frsize
        """),
        {},
        Limits(timeout_s=10, disk_mb=16),
    )
    assert result.value == 16 * 1024 * 1024
    assert runner.spare_runs == used


async def test_a_spare_killed_from_outside_is_replaced() -> None:
    runner = await started_runner()
    try:
        spares = await spares_ready(runner)
        for pid in spares:
            os.kill(pid, signal.SIGKILL)
        assert await wait_until_all_gone(set(spares))
        fresh = await spares_ready(runner)
        assert not set(fresh) & set(spares)
        used = runner.spare_runs
        result = await runner.run_python("def main(ctx):\n    return 42\n", {}, FAST)
        assert result.value == 42
        assert runner.spare_runs == used + 1
    finally:
        await runner.aclose()


async def test_closing_the_runner_leaves_no_spare_alive() -> None:
    runner = await started_runner()
    server = runner.fork_server_pid
    assert server is not None
    spares = await spares_ready(runner)
    processes = set(spares)
    for pid in spares:
        processes |= descendants(pid)
    assert len(processes) >= 4  # bwrap and the interpreter inside, at least, of each
    await runner.aclose()
    assert await wait_until_all_gone(processes)
    assert await wait_until_gone(server)


async def test_no_spares_when_turned_off() -> None:
    runner = await started_runner(spares=0)
    try:
        await asyncio.sleep(0.3)
        assert runner.spare_pids == []
        result = await runner.run_python("def main(ctx):\n    return 1\n", {}, FAST)
        assert result.value == 1
        assert runner.spare_runs == 0
    finally:
        await runner.aclose()
