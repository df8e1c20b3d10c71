"""`flomation api --workers N`: several API processes on one port serve runners and users alike
(each signs and verifies with the same key, wakes long polls through PostgreSQL NOTIFY, and
runs queue maintenance safely beside the others)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET_KEY
from tests.factories import Actor
from tests.runner.processes import FLOMATION, free_port, runner_processes, wait_for

ECHO = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "out", "type": "return", "config": {"value": {"echo": "{{ input.n }}"}}},
    ],
    "edges": [{"from": "start", "to": "out"}],
}


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOMATION_", "PYTEST_"))}
    env.update(FLOMATION_SECRET_KEY=TEST_SECRET_KEY, FLOMATION_LOG_LEVEL="WARNING", **extra)
    return env


def _workers(pid: int) -> list[int]:
    """The worker processes uvicorn spawned (not its multiprocessing resource tracker)."""
    raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [
        int(child)
        for child in raw.split()
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@asynccontextmanager
async def api_with_workers(
    database_url: str, tmp_path: Path, workers: int
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    port = free_port()
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            FLOMATION,
            "api",
            "--no-migrate",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            env=_environment(
                FLOMATION_DATABASE_URL=database_url,
                FLOMATION_CLAIM_WAIT_SECONDS="2",
                FLOMATION_MAINTENANCE_INTERVAL_SECONDS="0.3",
            ),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:

        async def serving() -> bool:
            assert process.returncode is None, log_path.read_text()
            with contextlib.suppress(httpx.TransportError):
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{base_url}/healthz")).status_code == 200
            return False

        await wait_for(serving, 30, "the API workers to serve")
        yield base_url, process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.postgres_only
@pytest.mark.alone
async def test_several_api_workers_serve_one_port_and_runners_finish_what_users_request(
    database_url: str, owner: Actor, tmp_path: Path
) -> None:
    async with api_with_workers(database_url, tmp_path, 2) as (base_url, process):

        async def two_workers() -> bool:
            return len(_workers(process.pid)) >= 2

        await wait_for(two_workers, 10, "two worker processes")
        async with httpx.AsyncClient(base_url=base_url, headers=owner.headers) as user:
            made = await user.post("/api/v1/runner-tokens", json={"name": "w", "labels": {}})
            assert made.status_code == 201, made.text
            flow = await user.post("/api/v1/flows", json={"name": "w", "definition": ECHO})
            assert flow.status_code == 201, flow.text
            async with runner_processes(base_url, made.json()["token"], tmp_path):
                ids = []
                for n in range(20):
                    answer = await user.post(
                        f"/api/v1/flows/{flow.json()['id']}/executions", json={"input": {"n": n}}
                    )
                    assert answer.status_code == 201, answer.text
                    ids.append(answer.json()["id"])

                async def all_succeeded() -> bool:
                    views = [(await user.get(f"/api/v1/executions/{i}")).json() for i in ids]
                    return all(view["status"] == "succeeded" for view in views)

                await wait_for(all_succeeded, 30, "every execution to succeed")
                outputs = [(await user.get(f"/api/v1/executions/{i}")).json() for i in ids]
        assert [view["output"] for view in outputs] == [{"echo": n} for n in range(20)]
        assert len(_workers(process.pid)) == 2


async def test_several_api_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        FLOMATION,
        "api",
        "--workers",
        "2",
        env=_environment(FLOMATION_DATA_DIR=str(tmp_path / "data")),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "PostgreSQL" in output.decode()
