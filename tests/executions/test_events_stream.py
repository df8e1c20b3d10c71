"""The execution event stream (SSE) over real HTTP: history, then live, then `end`; resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import TypeAdapter

from flomation.db.session import Database
from flomation.executions import reports as execution_reports
from flomation.executions.schemas import ClaimedExecution, ExecutionStreamEvent
from tests.executions.factories import claim, complete
from tests.factories import Actor, make_flow
from tests.live import LiveServer

# What the OpenAPI document says each message is.
DOCUMENTED = TypeAdapter[Any](ExecutionStreamEvent)


def _as_documented(event: dict[str, Any]) -> None:
    message = {"seq": int(event["id"]), "event": event["event"], "data": event["data"]}
    assert DOCUMENTED.dump_python(DOCUMENTED.validate_python(message), mode="json") == message


async def _sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "event" in event:
                _as_documented(event)
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(": ")
            event[name] = json.loads(value) if name == "data" else value


async def _log(database: Database, held: ClaimedExecution, message: str) -> None:
    async with database.transaction() as session:
        await execution_reports.record_events(
            session,
            runner_id="runner-1",
            execution_id=held.id,
            attempt=held.attempt,
            events=[
                {
                    "kind": "log",
                    "seq": 1,
                    "at": "2026-01-01T00:00:00Z",
                    "level": "info",
                    "message": message,
                    "node_id": None,
                }
            ],
        )


async def test_stream_sends_history_then_live_events_then_end(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client(owner.headers) as client:
        made = (
            await client.post(f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 1}})
        ).json()
    held = (await claim(database, owner.organization_id))[0]
    await _log(database, held, "before the stream")

    seen: list[dict[str, Any]] = []
    async with (
        api.client(owner.headers) as client,
        client.stream("GET", f"/api/v1/executions/{made['id']}/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse(response)
        for _ in range(3):  # queued, running, the log line: what happened so far
            seen.append(await anext(events))
        assert [
            (e["event"], e["data"].get("status") or e["data"].get("message")) for e in seen
        ] == [
            ("execution", "queued"),
            ("execution", "running"),
            ("log", "before the stream"),
        ]
        await _log(database, held, "while streaming")
        live = await asyncio.wait_for(anext(events), timeout=10)
        assert (live["event"], live["data"]["message"]) == ("log", "while streaming")
        await complete(database, held, output={"m": 2})
        rest = [event async for event in events]  # the stream closes after `end`
    assert [e["event"] for e in rest] == ["execution", "end"]
    assert rest[-1]["data"]["status"] == "succeeded"
    ids = [int(e["id"]) for e in [*seen, live, *rest]]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)

    resume_after = seen[2]["id"]
    async with (
        api.client({**owner.headers, "Last-Event-ID": resume_after}) as client,
        client.stream("GET", f"/api/v1/executions/{made['id']}/events") as response,
    ):
        resumed = [event async for event in _sse(response)]
    assert [e["id"] for e in resumed] == [live["id"], *(e["id"] for e in rest)]

    async with api.client({**owner.headers, "Last-Event-ID": rest[-1]["id"]}) as client:
        after_end = await client.get(f"/api/v1/executions/{made['id']}/events")
    assert after_end.status_code == 200
    assert after_end.text == ""
