"""Options for shared runners: a uid of its own per run, and no network for code."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import pytest

from flomation.engine.isolation import CodeFailed, CodeRunner, Limits
from flomation.engine.isolation.mode import DEFAULT_UID_RANGE, usable_uid_range
from tests.engine.isolation.sandbox import sandbox_settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="these options need a root runner")

FAST = Limits(timeout_s=10)
FIRST_UID, LAST_UID = 2_000_000, 2_000_999


@pytest.fixture(scope="module", params=["require", "off"])
async def per_run_uids(request: pytest.FixtureRequest) -> AsyncIterator[CodeRunner]:
    runner = CodeRunner(sandbox_settings(uid_range=(FIRST_UID, LAST_UID), sandbox=request.param))
    await runner.start()
    yield runner
    await runner.aclose()


async def test_concurrent_runs_get_different_uids(per_run_uids: CodeRunner) -> None:
    results = await asyncio.gather(
        *(per_run_uids.run_shell("id -u; id -g; sleep 0.3", {}, FAST) for _ in range(3))
    )
    ids = [tuple(int(n) for n in result.stdout.split()) for result in results]
    uids = {uid for uid, _ in ids}
    assert len(uids) == 3
    assert all(FIRST_UID <= uid <= LAST_UID for uid in uids)
    assert all(uid == gid for uid, gid in ids)


async def test_a_run_cannot_read_the_environment_of_another(per_run_uids: CodeRunner) -> None:
    started: asyncio.Queue[str] = asyncio.Queue()
    victim = asyncio.create_task(
        per_run_uids.run_shell(
            "echo started; sleep 5",
            {"API_TOKEN": "other-execution-secret"},
            FAST,
            on_log=lambda line: started.put_nowait(line.text),
        )
    )
    await asyncio.wait_for(started.get(), 10)
    try:
        found = await per_run_uids.run_python(SCAN_PROC_FOR_SECRET, {}, FAST)
    finally:
        victim.cancel()
        with pytest.raises(asyncio.CancelledError):
            await victim
    assert found.value["found"] == []
    assert found.value["readable"] > 0  # it did read its own


SCAN_PROC_FOR_SECRET = """
import os
def main(ctx):
    found, readable = [], 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            for name in ("environ", "cmdline"):
                try:
                    data = open(f"/proc/{pid}/{name}", "rb").read()
                except OSError:
                    continue
                readable += 1
                if b"other-execution-secret" in data:
                    found.append(f"{pid}/{name}")
    return {"found": found, "readable": readable}
"""


@pytest.mark.parametrize("sandbox", ["require", "off"])
async def test_code_can_be_kept_off_the_network(sandbox: str) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        connect = (
            "import socket\n"
            "def main(ctx):\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
            "    return 'connected'\n"
        )
        open_runner = CodeRunner(sandbox_settings(sandbox=sandbox))
        offline_runner = CodeRunner(sandbox_settings(isolate_network=True, sandbox=sandbox))
        await open_runner.start()
        await offline_runner.start()
        try:
            reached = await open_runner.run_python(connect, {}, FAST)
            # The sandbox's network namespace has a loopback of its own, with no listener.
            with pytest.raises(CodeFailed, match=r"Network is unreachable|Connection refused"):
                await offline_runner.run_python(connect, {}, FAST)
        finally:
            await open_runner.aclose()
            await offline_runner.aclose()
    assert reached.value == "connected"


async def test_auto_gives_each_run_a_uid_of_its_own_where_the_host_can() -> None:
    runner = CodeRunner(sandbox_settings(uid_range="auto"))
    await runner.start()
    try:
        results = await asyncio.gather(
            *(runner.run_shell("id -u; sleep 0.3", {}, FAST) for _ in range(2))
        )
    finally:
        await runner.aclose()
    uids = {int(result.stdout) for result in results}
    assert runner.mode.uid_range == DEFAULT_UID_RANGE
    assert len(uids) == 2
    assert all(DEFAULT_UID_RANGE[0] <= uid <= DEFAULT_UID_RANGE[1] for uid in uids)


def test_a_range_an_account_uses_is_not_used() -> None:
    assert "used by nobody" in usable_uid_range((65000, 65534))
    assert usable_uid_range(DEFAULT_UID_RANGE) == ""
