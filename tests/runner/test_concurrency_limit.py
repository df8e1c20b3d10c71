"""`--max-concurrent-executors N`: a runner never runs more than N executions at once, and it
does run N side by side. Each execution reports its start and its end to a loopback server
(the server's clock orders them), and the overlap is counted from those."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.live import LiveServer, serve
from tests.runner.processes import Api, runner_processes

SLOTS = 3
EXECUTIONS = 7


class Timeline:
    """Records `(time, +1 | -1, execution id)` as executions call /begin and /end."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, int, str]] = []
        self.server: LiveServer | None = None

    async def _mark(self, request: Request) -> JSONResponse:
        body = await request.json()
        step = 1 if request.url.path.endswith("/begin") else -1
        self.marks.append((time.monotonic(), step, str(body["id"])))
        return JSONResponse({"ok": True})

    def url(self, what: str) -> str:
        assert self.server is not None
        return f"{self.server.base_url}/{what}"

    def most_at_once(self) -> int:
        """The largest number of executions between their /begin and their /end."""
        running = most = 0
        for _, step, _ in sorted(self.marks):
            running += step
            most = max(most, running)
        return most

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Timeline]:
        routes = [Route(f"/{what}", self._mark, methods=["POST"]) for what in ("begin", "end")]
        async with serve(Starlette(routes=routes)) as server:
            self.server = server
            yield self


def timed_flow(timeline: Timeline, delay_s: float) -> dict[str, Any]:
    def call(node_id: str, what: str) -> dict[str, Any]:
        return {
            "id": node_id,
            "type": "http",
            "config": {
                "method": "POST",
                "url": timeline.url(what),
                "json": {"id": "{{ execution.id }}"},
            },
        }

    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            call("begin", "begin"),
            {"id": "wait", "type": "delay", "config": {"seconds": delay_s}},
            call("end", "end"),
        ],
        "edges": [
            {"from": "start", "to": "begin"},
            {"from": "begin", "to": "wait"},
            {"from": "wait", "to": "end"},
        ],
    }


async def test_a_runner_runs_exactly_max_concurrent_executors_at_once(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    async with Timeline().running() as timeline:
        flow_id = await user.flow(timed_flow(timeline, delay_s=1.0))
        # All queued before the runner starts, so that it could take more than its slots.
        ids = [await user.run(flow_id, {}) for _ in range(EXECUTIONS)]
        async with runner_processes(
            api.base_url,
            await user.token(),
            tmp_path,
            extra_args=["--max-concurrent-executors", str(SLOTS)],
        ) as [runner]:
            done = [await user.ended(execution_id, timeout_s=60) for execution_id in ids]
            assert await runner.stop() == 0, runner.logs()[-3000:]
    assert [execution["status"] for execution in done] == ["succeeded"] * EXECUTIONS
    assert len(timeline.marks) == 2 * EXECUTIONS
    assert timeline.most_at_once() == SLOTS
