"""Shared pieces of the runner benchmarks: a scratch PostgreSQL database, a real `flomation api`
process, real `flomation runner` processes, and the organisation, flow and tokens they use."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# ruff: noqa: ASYNC220  (processes are started once per case; a blocking Popen is fine here)
import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import func, insert, select, text

import flomation.models  # noqa: F401  (registers every table)
from flomation.auth.passwords import hash_password
from flomation.auth.tokens import API_TOKEN_PREFIX, generate_token, hash_token
from flomation.db.base import Base
from flomation.db.session import Database
from flomation.executions.notifier import CHANNEL, work_topic
from flomation.flows import service as flows
from flomation.ids import new_id
from flomation.models.auth import AccessToken, Membership, Organization, User
from flomation.models.executions import Execution, QueueEntry
from flomation.runners import service as runners
from flomation.runners.schemas import RunnerTokenCreate

ADMIN_DSN = os.environ.get(
    "FLOMATION_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
FLOMATION = str(Path(sys.executable).parent / "flomation")
SECRET_KEY = base64.urlsafe_b64encode(b"b" * 32).decode()

ECHO = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "out", "type": "return", "config": {"value": {"echo": "{{ input.n }}"}}},
    ],
    "edges": [{"from": "start", "to": "out"}],
}


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@asynccontextmanager
async def scratch_database(pool_size: int = 5) -> AsyncIterator[tuple[str, Database]]:
    name = f"flomation_bench_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    url = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    database = Database(url, pool_size=pool_size)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield url, database
    finally:
        await database.dispose()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Tenant:
    organization_id: str
    flow_id: str
    runner_token: str
    api_token: str


async def make_tenant(database: Database, definition: dict[str, Any] | None = None) -> Tenant:
    async with database.transaction() as session:
        organization = Organization(name="bench")
        session.add(organization)
        await session.flush()
        user = User(
            email=f"{uuid.uuid4().hex}@bench.test", name="b", password_hash=hash_password("x")
        )
        session.add(user)
        await session.flush()
        session.add(Membership(user_id=user.id, organization_id=organization.id, role="owner"))
        api_token = generate_token(API_TOKEN_PREFIX)
        session.add(
            AccessToken(
                kind="api",
                user_id=user.id,
                organization_id=organization.id,
                name="bench",
                token_hash=hash_token(api_token),
            )
        )
        flow = await flows.create_flow(
            session,
            organization_id=organization.id,
            author_id=None,
            name="echo",
            description="",
            definition=definition or ECHO,
            message=None,
        )
        token = await runners.create_token(
            session,
            organization_id=organization.id,
            created_by=None,
            body=RunnerTokenCreate(name="bench"),
        )
    return Tenant(organization.id, flow.flow.id, token.token, api_token)


async def queue_executions(database: Database, tenant: Tenant, count: int) -> None:
    """Queue `count` executions in one transaction (bulk rows), then wake idle runners."""
    async with database.transaction() as session:
        for start in range(0, count, 1000):
            rows, queue = [], []
            for n in range(start, min(count, start + 1000)):
                execution_id = new_id()
                rows.append(
                    {
                        "id": execution_id,
                        "organization_id": tenant.organization_id,
                        "flow_id": tenant.flow_id,
                        "revision": 1,
                        "status": "queued",
                        "input": {"n": n},
                        "trigger": {"type": "manual"},
                        "runs_on": {},
                    }
                )
                queue.append(
                    {
                        "execution_id": execution_id,
                        "organization_id": tenant.organization_id,
                        "flow_id": tenant.flow_id,
                        "labels": {},
                    }
                )
            await session.execute(insert(Execution), rows)
            await session.execute(insert(QueueEntry), queue)
        await session.execute(select(func.pg_notify(CHANNEL, work_topic(tenant.organization_id))))


async def count_status(database: Database, organization_id: str, status: str) -> int:
    async with database.transaction() as session:
        result = await session.execute(
            text("SELECT count(*) FROM executions WHERE organization_id = :o AND status = :s"),
            {"o": organization_id, "s": status},
        )
        return int(result.scalar_one())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOMATION_")}
    env.update(extra)
    return env


@asynccontextmanager
async def api_process(url: str, **settings: str) -> AsyncIterator[str]:
    """A real `flomation api` on a free loopback port; yields its base URL."""
    port = free_port()
    # BENCH_API_WORKERS=N serves the API from N processes (`flomation api --workers N`).
    settings.setdefault("api_workers", os.environ.get("BENCH_API_WORKERS", "1"))
    env = _environment(
        {
            "FLOMATION_DATABASE_URL": url,
            "FLOMATION_SECRET_KEY": SECRET_KEY,
            "FLOMATION_LOG_LEVEL": "WARNING",
            **{f"FLOMATION_{k.upper()}": v for k, v in settings.items()},
        }
    )
    process = subprocess.Popen(
        [FLOMATION, "api", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{base_url}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the API did not start")
        yield base_url
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(15)
        if process.poll() is None:
            process.kill()


@asynccontextmanager
async def runner_processes(
    base_url: str, token: str, count: int, *, max_concurrent: int = 16
) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    env = _environment({"FLOMATION_RUNNER_LOG_LEVEL": "WARNING"})
    processes = [
        subprocess.Popen(
            [
                FLOMATION,
                "runner",
                "--api",
                base_url,
                "--token",
                token,
                "--name",
                f"bench-{i}",
                "--max-concurrent-executors",
                str(max_concurrent),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()


async def wait_online(base_url: str, api_token: str, count: int, timeout_s: float = 60) -> None:
    until = time.monotonic() + timeout_s
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {api_token}"}) as client:
        while time.monotonic() < until:
            items = (await client.get(f"{base_url}/api/v1/runners")).json()["items"]
            if sum(1 for item in items if item["status"] == "online") >= count:
                return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{count} runners did not come online")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class KeepAliveClient:
    """A lean HTTP/1.1 load generator: one keep-alive connection, requests written as bytes,
    answers read by their Content-Length. httpx spends about 1 ms of CPU per request here, as
    much as the API's own share, and the load generator shares the 2 cores with what it
    measures; this one spends a tenth of that, so the figures say what the server can do.
    Every answer's status is checked."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        host_port = base_url.split("://", 1)[1].rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"Host: {host_port}\r\n{extra}"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> KeepAliveClient:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        assert self._reader is not None
        assert self._writer is not None
        content = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self._writer.write(f"{method} {path} HTTP/1.1\r\n{self._head}{content}\r\n".encode() + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)


async def one_by_one_loop(
    base_url: str,
    headers: dict[str, str],
    path: str,
    until: float,
    *,
    post: bool,
    expect: int = 200,
) -> int:
    """Requests one after the other on one connection until `until`; how many were answered.
    A POST requests an echo execution with `{"input": {"n": ...}}`."""
    done = 0
    async with KeepAliveClient(base_url, headers) as client:
        while time.perf_counter() < until:
            if post:
                body = b'{"input":{"n":%d}}' % done
                status, answer = await client.request("POST", path, body)
            else:
                status, answer = await client.request("GET", path)
            if status != expect:
                raise RuntimeError(f"{path} answered {status}: {answer[:300]!r}")
            done += 1
    return done
