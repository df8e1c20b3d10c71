"""`flomation up` as a new user runs it: one command, then the API, a local runner and Launch
all work on the embedded SQLite database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import echo_definition

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery"
ECHO = echo_definition()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Up:
    base_url: str
    process: subprocess.Popen[str]
    log: Path


async def wait_until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def up(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Up]:
    """One `flomation up` for the module: each test uses flows of its own."""
    async with running_up(tmp_path_factory.mktemp("up")) as started:
        yield started


@asynccontextmanager
async def running_up(tmp_path: Path, *, own_session: bool = False) -> AsyncIterator[Up]:
    """A `flomation up` process, ready; SIGTERM (then SIGKILL) when done. `own_session`: in a
    process group of its own, as from a terminal, so a test can signal the whole tree."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOMATION_")}
    env.update(
        FLOMATION_DATA_DIR=str(tmp_path / "data"),
        FLOMATION_PORT=str(port),
        FLOMATION_ADMIN_EMAIL=ADMIN_EMAIL,
        FLOMATION_ADMIN_PASSWORD=ADMIN_PASSWORD,
        FLOMATION_LOG_LEVEL="WARNING",
    )
    log = tmp_path / "up.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "flomation", "up"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=own_session,
        )
    base_url = f"http://127.0.0.1:{port}"

    async def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"flomation up exited: {log.read_text()}")
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base_url}/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await wait_until(ready, 60, "flomation up to be ready")
        yield Up(base_url=base_url, process=process, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def login(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['token']}"


async def test_up_serves_the_api_with_flow_history(up: Up) -> None:
    async with httpx.AsyncClient(base_url=up.base_url, timeout=30) as client:
        await login(client)
        created = await client.post("/api/v1/flows", json={"name": "echo", "definition": ECHO})
        assert created.status_code == 201, created.text
        flow_id = created.json()["id"]
        definition = ECHO
        for number in (2, 3):
            definition = {**definition, "timeout_s": 60 * number}
            saved = await client.put(
                f"/api/v1/flows/{flow_id}",
                json={"definition": definition, "base_revision": number - 1},
            )
            assert saved.status_code == 200, saved.text
        diff = await client.get(f"/api/v1/flows/{flow_id}/diff", params={"from": 1, "to": 3})
        assert diff.json()["settings"]["changed"]
        restored = await client.post(f"/api/v1/flows/{flow_id}/revisions/1/restore", json={})
        assert restored.json()["revision"] == 4
        assert restored.json()["definition"] == ECHO


async def test_up_runs_flows_on_its_local_runner(up: Up) -> None:
    async with httpx.AsyncClient(base_url=up.base_url, timeout=30) as client:
        await login(client)
        flow = await client.post("/api/v1/flows", json={"name": "run me", "definition": ECHO})
        flow_id = flow.json()["id"]
        requested = await client.post(
            f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 21}}
        )
        assert requested.status_code == 201, requested.text
        execution_id = requested.json()["id"]

        async def finished() -> dict[str, Any] | None:
            body = (await client.get(f"/api/v1/executions/{execution_id}")).json()
            return body if body["status"] not in ("queued", "running") else None

        execution = await wait_until(finished, 30, "the execution to end")
        assert execution["status"] == "succeeded", execution
        assert execution["output"] == {"m": 42}
        runners = (await client.get("/api/v1/runners")).json()["items"]
        assert [runner["status"] for runner in runners] == ["online"]


async def test_up_runs_python_nodes_isolated_on_its_local_runner(up: Up) -> None:
    code = (
        "import os\n"
        "def main(ctx):\n"
        "    print('hello')\n"
        "    return {'uid': os.getuid(), 'n': ctx['input']['n']}\n"
    )
    definition = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "py", "type": "python", "config": {"code": code}},
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.py.output }}"}},
        ],
        "edges": [{"from": "start", "to": "py"}, {"from": "py", "to": "out"}],
    }
    async with httpx.AsyncClient(base_url=up.base_url, timeout=30) as client:
        await login(client)
        flow = await client.post("/api/v1/flows", json={"name": "py", "definition": definition})
        flow_id = flow.json()["id"]
        requested = await client.post(
            f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 5}}
        )
        execution_id = requested.json()["id"]

        async def finished() -> dict[str, Any] | None:
            body = (await client.get(f"/api/v1/executions/{execution_id}")).json()
            return body if body["status"] not in ("queued", "running") else None

        execution = await wait_until(finished, 30, "the python execution to end")
    assert execution["status"] == "succeeded", execution
    assert execution["output"]["n"] == 5
    if os.geteuid() == 0:
        assert execution["output"]["uid"] != 0  # never as root
    assert any(line["message"] == "hello" for line in execution["logs"])


async def test_up_fires_schedules_in_process(up: Up) -> None:
    async with httpx.AsyncClient(base_url=up.base_url, timeout=30) as client:
        await login(client)
        flow = await client.post("/api/v1/flows", json={"name": "tick", "definition": ECHO})
        flow_id = flow.json()["id"]
        # The schedule's input carries no `n`: this flow's set node does not compute with it.
        tick = {
            **ECHO,
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "double", "type": "set", "config": {"values": {"m": "tick"}}},
                ECHO["nodes"][2],
            ],
        }
        await client.put(f"/api/v1/flows/{flow_id}", json={"definition": tick, "base_revision": 1})
        trigger = await client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            json={"type": "schedule", "config": {"cron": "* * * * * *"}},
        )
        assert trigger.status_code == 201, trigger.text

        async def fired() -> list[dict[str, Any]]:
            listing = await client.get("/api/v1/executions", params={"flow_id": flow_id})
            return [
                item
                for item in listing.json()["items"]
                if item["trigger"]["type"] == "schedule" and item["status"] == "succeeded"
            ]

        executions = await wait_until(fired, 30, "a scheduled execution to succeed")
        assert executions[0]["trigger"]["id"] == trigger.json()["id"]


def _local_runner_pids(up_pid: int) -> set[int]:
    """The `flomation runner` children of the `flomation up` process."""
    found: set[int] = set()
    for task in Path(f"/proc/{up_pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue  # exited meanwhile
            if b"runner" in cmdline:
                found.add(int(child))
    return found


async def test_up_restarts_its_local_runner_after_a_kill_9(up: Up) -> None:
    async with httpx.AsyncClient(base_url=up.base_url, timeout=30) as client:
        await login(client)

        async def registered() -> bool:
            runners = (await client.get("/api/v1/runners")).json()["items"]
            return [runner["status"] for runner in runners] == ["online"]

        await wait_until(registered, 30, "the local runner to register")
    [killed] = _local_runner_pids(up.process.pid)
    os.kill(killed, signal.SIGKILL)

    async def restarted() -> set[int]:
        return _local_runner_pids(up.process.pid) - {killed}

    await wait_until(restarted, 30, "a new local runner process")
    async with httpx.AsyncClient(base_url=up.base_url, timeout=30) as client:
        await login(client)
        flow = await client.post("/api/v1/flows", json={"name": "after", "definition": ECHO})
        requested = await client.post(
            f"/api/v1/flows/{flow.json()['id']}/executions", json={"input": {"n": 4}}
        )
        execution_id = requested.json()["id"]

        async def finished() -> dict[str, Any] | None:
            body = (await client.get(f"/api/v1/executions/{execution_id}")).json()
            return body if body["status"] not in ("queued", "running") else None

        execution = await wait_until(finished, 60, "the execution to end on the new runner")
        # The killed runner said no goodbye, but `up` saw it die: it is not listed online
        # (well within the 30 s heartbeat TTL).
        runners = (await client.get("/api/v1/runners")).json()["items"]
    assert execution["status"] == "succeeded", execution
    assert execution["output"] == {"m": 8}
    assert [runner["status"] for runner in runners] == ["online"], runners
    assert f"the local runner ended (pid {killed}, exit status -9); restart 1" in up.log.read_text()


async def test_ctrl_c_stops_up_without_restarting_its_runner(tmp_path: Path) -> None:
    # Ctrl-C in a terminal signals the whole process group: the runner child exits at once,
    # and that exit is the end of the whole, not a crash to recover from.
    async with running_up(tmp_path, own_session=True) as started:
        await wait_until(
            lambda: _async_value(bool(_local_runner_pids(started.process.pid))),
            30,
            "the local runner",
        )
        os.killpg(started.process.pid, signal.SIGINT)
        # 130: uvicorn hands the SIGINT back once it has shut down, as a shell expects.
        assert started.process.wait(timeout=60) in (0, 130)
        log = started.log.read_text()
    assert "the local runner ended" not in log, log


async def _async_value(value: bool) -> bool:
    return value
