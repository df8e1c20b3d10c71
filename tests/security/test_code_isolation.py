"""Hostile cases 2, 4 and 8 (issue 25), against real `flomation runner` processes.

An editor's python node read another runner's token from /proc/<pid>/cmdline and a concurrent
shell node's environment from /proc/<pid>/environ; files left in /tmp, /var/tmp and /dev/shm
outlived their run; there was no disk quota and no runner-level ceiling; code had the network
on a shared runner; a run directory was left behind after a kill -9. Each python and shell run
now has a bubblewrap sandbox of its own, the runner caps what flows ask for, and the token
comes from the environment or a file instead of the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from flomation.config import Settings
from flomation.engine.isolation.mode import DEFAULT_UID_RANGE
from tests.conftest import make_settings
from tests.engine.isolation.processes import descendants, wait_until_all_gone
from tests.engine.isolation.sandbox import sandbox_python
from tests.live import LiveServer
from tests.runner.processes import FLOMATION, Api, RunnerProcess, wait_for

pytestmark = pytest.mark.skipif(
    not os.access("/usr/bin/bwrap", os.X_OK), reason="needs bubblewrap (make bwrap)"
)

WAIT_S = 60.0  # a cold runner on a busy 2-core machine takes seconds to start


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path / "data",
        lease_seconds=5.0,
        claim_wait_seconds=2.0,
        maintenance_interval_seconds=0.5,
    )


@asynccontextmanager
async def runner(
    api: LiveServer,
    token: str,
    workdir: Path,
    *,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    token_by: str = "env",
) -> AsyncIterator[RunnerProcess]:
    """A runner given its token in FLOMATION_RUNNER_TOKEN ("env"), in a file ("file") or
    with --token ("argv"); killed afterwards if it still runs."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOMATION_", "PYTEST_"))
    }
    environment.update(
        {
            "FLOMATION_RUNNER_CODE_PYTHON": sandbox_python(),
            "FLOMATION_RUNNER_CODE_SANDBOX": "require",
            "FLOMATION_RUNNER_BACKOFF_MAX_S": "1",
            "FLOMATION_RUNNER_LOG_LEVEL": "INFO",
            **(env or {}),
        }
    )
    argv = [FLOMATION, "runner", "--api", api.base_url, *args]
    if token_by == "env":
        environment["FLOMATION_RUNNER_TOKEN"] = token
    elif token_by == "file":
        token_file = workdir / "runner-token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        argv += ["--token-file", str(token_file)]
    else:
        argv += ["--token", token]
    log_path = workdir / f"runner-{len(list(workdir.glob('runner-*.log')))}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
            cwd=str(workdir),
        )
    started = RunnerProcess(process, log_path)
    try:
        yield started
    finally:
        if process.returncode is None:
            started.signal(signal.SIGKILL)
            await process.wait()


def python_flow(code: str, **config: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "code", "type": "python", "config": {"code": code, **config}},
        ],
        "edges": [{"from": "start", "to": "code"}],
    }


def shell_flow(command: str, **config: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "code", "type": "shell", "config": {"command": command, **config}},
        ],
        "edges": [{"from": "start", "to": "code"}],
    }


def code_step(execution: dict[str, Any]) -> dict[str, Any]:
    [step] = [step for step in execution["steps"] if step["node_id"] == "code"]
    found: dict[str, Any] = step
    return found


async def finished(user: Api, flow: dict[str, Any]) -> dict[str, Any]:
    return await user.ended(await user.run(await user.flow(flow), {}), timeout_s=WAIT_S)


SCAN_PROC = """
import os
def main(ctx):
    seen, found = [], []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        seen.append(pid)
        for name in ("cmdline", "environ"):
            try:
                data = open(f"/proc/{pid}/{name}", "rb").read()
            except OSError:
                continue
            for secret in ctx["input"]["secrets"]:
                if secret.encode() in data:
                    found.append(f"{pid}/{name}: {secret}")
    return {"seen": sorted(seen), "found": found, "uid": os.getuid()}
"""


async def test_a_python_node_sees_neither_another_runs_environment_nor_the_runner_token(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    token = await user.token()
    sleeper = await user.flow(
        shell_flow("sleep 8", env={"OTHER_ORG_KEY": "other-organisation-secret"})
    )
    scanner = await user.flow(python_flow(SCAN_PROC))
    async with runner(api, token, tmp_path, token_by="env") as process:
        sleeping = await user.run(sleeper, {})
        await wait_for(
            lambda: user.step_started(sleeping, "code"), WAIT_S, "the shell node to start"
        )
        scan = await user.ended(
            await user.run(scanner, {"secrets": ["other-organisation-secret", token]}),
            timeout_s=WAIT_S,
        )
        runner_cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        # The shell node was still running beside it: the scan had something to find.
        assert (await user.get(sleeping))["status"] == "running"
    assert scan["status"] == "succeeded", scan
    output = code_step(scan)["output"]
    assert output["found"] == []
    assert output["seen"] == ["1", "2"]  # its sandbox's init and itself
    if os.geteuid() == 0:  # a root runner gives each run a uid of its own
        assert DEFAULT_UID_RANGE[0] <= output["uid"] <= DEFAULT_UID_RANGE[1]
    assert token.encode() not in runner_cmdline


async def test_files_a_run_leaves_are_not_seen_by_the_next_run(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    places = ["/tmp", "/var/tmp", "/dev/shm", "."]
    leave_files = python_flow(f"""
import os
def main(ctx):
    found = {{place: os.listdir(place) for place in {places!r}}}
    for place in {places!r}:
        with open(os.path.join(place, "planted-by-an-earlier-run"), "w") as f:
            f.write("a trace")
    return found
""")
    async with runner(api, await user.token(), tmp_path):
        first = await finished(user, leave_files)
        second = await finished(user, leave_files)
        shell = await finished(user, shell_flow("ls -A /tmp /var/tmp /dev/shm ."))
    assert first["status"] == second["status"] == shell["status"] == "succeeded"
    assert code_step(second)["output"] == {place: [] for place in places}
    assert "planted" not in code_step(shell)["output"]["stdout"]
    assert not Path("/tmp/planted-by-an-earlier-run").exists()


async def test_a_disk_quota_stops_a_big_write_with_a_clear_error(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    fill_the_disk = python_flow(
        "def main(ctx):\n"
        "    with open('big', 'wb') as f:\n"
        "        for _ in range(64):\n"
        "            f.write(b'x' * 1024 * 1024)\n"
    )
    async with runner(
        api, await user.token(), tmp_path, env={"FLOMATION_RUNNER_CODE_MAX_DISK_MB": "8"}
    ):
        python = await finished(user, fill_the_disk)
        shell = await finished(user, shell_flow("head -c 64000000 /dev/zero > /tmp/big"))
    assert python["status"] == shell["status"] == "failed"
    for execution in (python, shell):
        message = execution["error"]["message"]
        assert "No space left on device" in message
        assert "at most 8 MB (this runner's ceiling) each" in message


async def test_code_has_no_network_on_a_shared_runner(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        connect = python_flow(
            "import socket\n"
            "def main(ctx):\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
            "    return 'connected'\n"
        )
        async with runner(
            api,
            await user.token(),
            tmp_path,
            args=("--egress-policy", "shared_cloud"),
            token_by="argv",
        ) as process:
            blocked = await finished(user, connect)
            logs = process.logs()
        async with runner(api, await user.token(), tmp_path):
            allowed = await finished(user, connect)  # self-hosted: code has the network
    assert blocked["status"] == "failed", blocked
    assert "Connection refused" in blocked["error"]["message"]
    assert allowed["status"] == "succeeded", allowed
    # --token still works, with a warning that it is visible to other processes.
    assert "/cmdline" in logs
    assert "FLOMATION_RUNNER_TOKEN" in logs
    assert "with no network" in logs


async def test_a_flow_cannot_exceed_the_runners_memory_and_time_ceilings(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    hog = python_flow(
        "def main(ctx):\n    return len(bytearray(600 * 1024 * 1024))\n", memory_mb=65536
    )
    slow = shell_flow("sleep 120", timeout_s=86400)
    async with runner(
        api,
        await user.token(),
        tmp_path,
        env={
            "FLOMATION_RUNNER_CODE_MAX_MEMORY_MB": "256",
            "FLOMATION_RUNNER_CODE_MAX_TIMEOUT_S": "2",
        },
    ):
        loop = asyncio.get_running_loop()
        memory = await finished(user, hog)
        began = loop.time()
        timed = await finished(user, slow)
        took = loop.time() - began
    assert memory["status"] == "failed", memory
    assert "memory limit of 256 MB (this runner's ceiling)" in memory["error"]["message"]
    assert timed["status"] in ("failed", "timed_out"), timed
    assert "within 2 s (this runner's ceiling)" in timed["error"]["message"]
    assert took < 30


async def test_a_kill_9_of_the_runner_leaves_no_run_directory_behind(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    temp = tmp_path / "runner-tmp"  # the runner's temporary directory: run dirs went there
    temp.mkdir()
    sleepy = python_flow("import time\ndef main(ctx):\n    print('started')\n    time.sleep(120)\n")
    flow_id = await user.flow(sleepy)
    async with runner(
        api, await user.token(), tmp_path, env={"TMPDIR": str(temp)}, token_by="file"
    ) as process:
        execution_id = await user.run(flow_id, {})
        await wait_for(
            lambda: user.step_started(execution_id, "code"), WAIT_S, "the python node to start"
        )
        await asyncio.sleep(0.5)  # the node's start is reported just before its code starts
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        tree = descendants(process.pid)
        assert len(tree) >= 3  # the fork server, and the run below it
        # The whole tree at once, as `kill -9` of a process group or the OOM killer would.
        for pid in [process.pid, *tree]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await process.process.wait()
        assert await wait_until_all_gone(tree, within_s=10)
    token = (tmp_path / "runner-token").read_text().strip()
    assert token.encode() not in cmdline
    assert list(temp.iterdir()) == []
