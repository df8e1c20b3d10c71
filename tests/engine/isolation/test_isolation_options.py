"""Options for shared runners: a uid of its own per run, and no network for code."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import pytest

from flomation.engine.isolation import CodeFailed, CodeRunner, Limits
from tests.engine.isolation.sandbox import sandbox_settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="these options need a root runner")

FAST = Limits(timeout_s=10)
FIRST_UID, LAST_UID = 2_000_000, 2_000_999


@pytest.fixture(scope="module")
async def per_run_uids() -> AsyncIterator[CodeRunner]:
    runner = CodeRunner(sandbox_settings(uid_range=(FIRST_UID, LAST_UID)))
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
    started: asyncio.Queue[int] = asyncio.Queue()
    victim = asyncio.create_task(
        per_run_uids.run_shell(
            "echo $$; sleep 5",
            {"API_TOKEN": "other-execution-secret"},
            FAST,
            on_log=lambda line: started.put_nowait(int(line.text)),
        )
    )
    pid = await asyncio.wait_for(started.get(), 10)
    try:
        with pytest.raises(CodeFailed, match="PermissionError"):
            await per_run_uids.run_python(
                f"def main(ctx):\n    return open('/proc/{pid}/environ').read()\n", {}, FAST
            )
    finally:
        victim.cancel()
        with pytest.raises(asyncio.CancelledError):
            await victim


async def test_code_can_be_kept_off_the_network() -> None:
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
        open_runner = CodeRunner(sandbox_settings())
        offline_runner = CodeRunner(sandbox_settings(isolate_network=True))
        await open_runner.start()
        await offline_runner.start()
        try:
            reached = await open_runner.run_python(connect, {}, FAST)
            with pytest.raises(CodeFailed, match="Network is unreachable"):
                await offline_runner.run_python(connect, {}, FAST)
        finally:
            await open_runner.aclose()
            await offline_runner.aclose()
    assert reached.value == "connected"
