"""Real `flomation runner` processes for the end-to-end tests, and a loopback HTTP recorder
that flows call to prove their side effects."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.engine.isolation.sandbox import sandbox_python
from tests.factories import Actor
from tests.live import LiveServer, serve

FLOMATION = str(Path(sys.executable).parent / "flomation")


class RunnerProcess:
    """One `flomation runner` subprocess; its stderr (JSON logs) is kept for failures."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, sig)

    async def stop(self, timeout_s: float = 30) -> int:
        """SIGTERM, then wait for the exit status."""
        self.signal(signal.SIGTERM)
        return await self.wait(timeout_s)

    async def wait(self, timeout_s: float = 30) -> int:
        try:
            return await asyncio.wait_for(self.process.wait(), timeout=timeout_s)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            await self.process.wait()
            tail = self.logs()[-3000:]
            raise AssertionError(f"runner did not exit in {timeout_s} s:\n{tail}") from None


@asynccontextmanager
async def runner_processes(
    base_url: str,
    token: str,
    workdir: Path,
    *,
    count: int = 1,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[list[RunnerProcess]]:
    """Start `count` runners; kill whatever is still running afterwards."""
    started: list[RunnerProcess] = []
    try:
        for _ in range(count):
            started.append(
                await start_runner(base_url, token, workdir, extra_args=extra_args, env=env)
            )
        yield started
    finally:
        for runner in started:
            if runner.process.returncode is None:
                runner.signal(signal.SIGKILL)
                await runner.process.wait()


_counter = iter(range(1, 1_000_000))


async def start_runner(
    base_url: str,
    token: str,
    workdir: Path,
    *,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> RunnerProcess:
    number = next(_counter)
    log_path = workdir / f"runner-{number}.log"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOMATION_", "PYTEST_"))
    }
    environment.update(
        {
            "FLOMATION_RUNNER_CODE_PYTHON": sandbox_python(),
            "FLOMATION_RUNNER_BACKOFF_MAX_S": "1",
            "FLOMATION_RUNNER_LOG_LEVEL": "DEBUG",
        }
    )
    environment.update(env or {})
    log_file = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        FLOMATION,
        "runner",
        "--api",
        base_url,
        "--token",
        token,
        "--name",
        f"runner-{number}",
        *(extra_args or []),
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log_file,
        cwd=str(workdir),
    )
    log_file.close()  # the child has its own copy
    return RunnerProcess(process, log_path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Recorder:
    """A loopback HTTP server counting the execution ids flows report to it."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.bodies: list[dict[str, object]] = []
        self.server: LiveServer | None = None

    async def _record(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.bodies.append(body)
        self.calls[str(body.get("id"))] += 1
        return JSONResponse({"ok": True})

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"{self.server.base_url}/record"

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Recorder]:
        app = Starlette(routes=[Route("/record", self._record, methods=["POST"])])
        async with serve(app) as server:
            self.server = server
            yield self


async def wait_for(predicate: Callable[[], Awaitable[object]], timeout_s: float, what: str) -> None:
    """Poll an async predicate until true; fail with `what` after `timeout_s`."""
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout_s
    while loop.time() < until:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def record_flow(recorder_url: str, *, delay_s: float = 0) -> dict[str, Any]:
    """start -> wait -> POST {execution id, attempt} to the recorder -> return the attempt."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "wait", "type": "delay", "config": {"seconds": delay_s}},
            {
                "id": "call",
                "type": "http",
                "config": {
                    "method": "POST",
                    "url": recorder_url,
                    "json": {"id": "{{ execution.id }}", "attempt": "{{ execution.attempt }}"},
                },
            },
            {
                "id": "out",
                "type": "return",
                "config": {"value": {"attempt": "{{ execution.attempt }}", "n": "{{ input.n }}"}},
            },
        ],
        "edges": [
            {"from": "start", "to": "wait"},
            {"from": "wait", "to": "call"},
            {"from": "call", "to": "out"},
        ],
    }


class Api:
    """The user's side: flows, executions and runner tokens through the public API."""

    def __init__(self, server: LiveServer, owner: Actor) -> None:
        self.client = server.client(owner.headers)

    async def token(self, labels: dict[str, str] | None = None) -> str:
        answer = await self.client.post(
            "/api/v1/runner-tokens", json={"name": "e2e", "labels": labels or {}}
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])

    async def flow(self, definition: dict[str, Any]) -> str:
        answer = await self.client.post(
            "/api/v1/flows", json={"name": "e2e", "definition": definition}
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def run(self, flow_id: str, input: Any = None, **extra: Any) -> str:
        body = {"input": input if input is not None else {"n": 1}, **extra}
        answer = await self.client.post(f"/api/v1/flows/{flow_id}/executions", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def get(self, execution_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/api/v1/executions/{execution_id}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def step_started(self, execution_id: str, node_id: str) -> bool:
        """True once the runner reported that node as started (the runner holds it)."""
        steps = (await self.get(execution_id))["steps"]
        return any(step["node_id"] == node_id for step in steps)

    async def status_is(self, execution_id: str, *statuses: str) -> bool:
        return (await self.get(execution_id))["status"] in statuses

    async def ended(self, execution_id: str, timeout_s: float = 30) -> dict[str, Any]:
        async def done() -> bool:
            return await self.status_is(
                execution_id, "succeeded", "failed", "cancelled", "timed_out"
            )

        await wait_for(done, timeout_s, f"execution {execution_id} to end")
        return await self.get(execution_id)

    async def aclose(self) -> None:
        await self.client.aclose()


def quick_flow(recorder_url: str) -> dict[str, Any]:
    flow = record_flow(recorder_url)
    flow["nodes"] = [node for node in flow["nodes"] if node["id"] != "wait"]
    flow["edges"] = [{"from": "start", "to": "call"}, {"from": "call", "to": "out"}]
    return flow
