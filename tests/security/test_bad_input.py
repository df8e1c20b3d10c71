"""Hostile case 5 and the body parts of 8 (issue 25), against a real `flomation api` process on
both databases: a public webhook sent JSON nested 1,000 deep, a lone surrogate or a NUL answered
500 (a RecursionError; a failed insert whose whole SQL statement went to the log), and a body
sent a byte every 1.5 s held its connection open indefinitely. Now: 400 problem+json naming
where, nothing queued, nothing of the SQL in the log; 408 and the connection closed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from flomation.db.session import Database
from tests.conftest import TEST_SECRET_KEY
from tests.factories import Actor
from tests.runner.processes import FLOMATION, free_port, wait_for
from tests.triggers.factories import executions_of, make_flow, make_trigger

WAIT_S = 60.0  # a cold interpreter on a busy 2-core machine takes seconds to start
IDLE_S = 1.0


@dataclass
class ApiProcess:
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@asynccontextmanager
async def api_process(database_url: str, data_dir: Path, **env: str) -> AsyncIterator[ApiProcess]:
    """`flomation api` on the test database, logging at INFO to a file; `env` on top."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(data_dir),
        "FLOMATION_DATABASE_URL": database_url,
        "FLOMATION_SECRET_KEY": TEST_SECRET_KEY,
        "FLOMATION_DATA_DIR": str(data_dir),
        "FLOMATION_LOG_LEVEL": "INFO",
        "FLOMATION_BODY_READ_TIMEOUT_S": "5",
        "FLOMATION_BODY_READ_IDLE_TIMEOUT_S": str(IDLE_S),
        **env,
    }
    log_path = data_dir / "api.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            FLOMATION,
            "api",
            "--no-migrate",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    server = ApiProcess(base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:

        async def serving() -> bool:
            assert process.returncode is None, server.log()
            with contextlib.suppress(httpx.TransportError):
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"{server.base_url}/healthz")).status_code == 200
            return False

        await wait_for(serving, WAIT_S, "`flomation api` to serve")
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


HOSTILE_WEBHOOK_BODIES = [
    (b"[" * 1000 + b"]" * 1000, "/0" * 64),
    (b'{"v": "\\ud800"}', "/v"),
    (b'{"v": ["\\u0000"]}', "/v/0"),
]


async def test_hostile_webhook_bodies_answer_400_queue_nothing_and_log_no_sql(
    database_url: str, database: Database, owner: Actor, tmp_path: Path
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    await make_trigger(database, owner.organization_id, flow_id, "webhook", {"path": "public"})
    async with (
        api_process(database_url, tmp_path / "api") as api,
        httpx.AsyncClient(base_url=api.base_url, timeout=30) as client,
    ):
        answers = [
            await client.post(
                "/hooks/public", content=body, headers={"Content-Type": "application/json"}
            )
            for body, _ in HOSTILE_WEBHOOK_BODIES
        ]
        in_query = await client.post("/hooks/public?v=%00", json={})
        flow = await client.post(
            "/api/v1/flows",
            content=json.dumps({"name": "\ud800", "definition": {}}).encode(),
            headers={**owner.headers, "Content-Type": "application/json"},
        )
        still_serving = await client.post("/hooks/public", json={"fine": True})
        log = api.log()
    for answer, (_, pointer) in zip(answers, HOSTILE_WEBHOOK_BODIES, strict=True):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["pointer"] == pointer
    assert in_query.status_code == 400
    assert flow.status_code == 400
    assert flow.json()["pointer"] == "/name"
    assert still_serving.status_code == 202
    # Only the good delivery was queued.
    [execution] = await executions_of(database, owner.organization_id)
    assert execution.input["body"] == {"fine": True}
    for leak in ("Traceback", "RecursionError", "[SQL", "INSERT", "SELECT"):
        assert leak not in log, f"{leak!r} in the API's log:\n{log[-3000:]}"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_body_sent_a_byte_every_1_5_s_is_answered_408_and_its_connection_closed(
    database_url: str, owner: Actor, tmp_path: Path
) -> None:
    # The database plays no part in reading a body: one backend is enough.
    async with api_process(database_url, tmp_path / "api") as api:
        host, port = api.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        loop = asyncio.get_running_loop()
        started = loop.time()
        writer.write(
            b"POST /hooks/public HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )

        async def one_byte_every_1_5_s() -> None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                for _ in range(1000):
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(1.5)

        sender = asyncio.create_task(one_byte_every_1_5_s())
        try:
            # Until EOF: the server must close the connection itself.
            data = await asyncio.wait_for(reader.read(), timeout=30)
        finally:
            sender.cancel()
            writer.close()
        elapsed = loop.time() - started
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert b"connection: close" in head.lower()
    assert json.loads(body)["status"] == 408
    assert elapsed < 1.5 + IDLE_S + 3
