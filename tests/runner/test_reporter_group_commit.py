"""The reporter flushes as a group commit: an end is sent at once when no flush is in flight
(never after a flush interval), and what arrives while a flush is in flight travels together
in the next one. The API is a stand-in that holds each request until the test lets it go."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from flomation.backoff import Backoff
from flomation.protocol import Completion, ExecutionStatus, ReportResponse, ReportResult
from flomation.runner.client import ApiClient
from flomation.runner.reporter import Reporter

LONG_S = 30.0
# A flush interval no test may wait out: anything sent was sent without waiting for it.
NEVER_S = 3600.0
END = Completion(status=ExecutionStatus.SUCCEEDED, output={"ok": True})


class HeldApi:
    """Answers `POST /events` with `ok` for every item, each request only once released."""

    def __init__(self) -> None:
        self.requests: list[list[dict[str, Any]]] = []
        self.arrived = asyncio.Condition()
        self.release = asyncio.Event()

    async def ask(self, method: str, path: str, answer: type[Any], *, content: bytes) -> Any:
        assert (method, path, answer) == ("POST", "/events", ReportResponse)
        items = json.loads(content)["items"]
        async with self.arrived:
            self.requests.append(items)
            self.arrived.notify_all()
        await self.release.wait()
        return ReportResponse(
            results=[
                ReportResult(execution_id=i["execution_id"], attempt=i["attempt"], result="ok")
                for i in items
            ]
        )

    async def wait_for_requests(self, count: int) -> None:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.requests) >= count), LONG_S
            )


def _reporter(api: HeldApi) -> Reporter:
    return Reporter(
        cast(ApiClient, api), flush_interval_s=NEVER_S, batch_max=1000, backoff=Backoff()
    )


async def test_an_end_is_sent_at_once_without_waiting_for_the_flush_interval() -> None:
    api = HeldApi()
    api.release.set()
    reporter = _reporter(api)
    flusher = asyncio.create_task(reporter.run())
    try:
        reporter.add_event("e1", 1, {"kind": "log", "message": "hi"})
        verdict = await asyncio.wait_for(reporter.complete("e1", 1, END), LONG_S)
    finally:
        reporter.stop()
        await flusher
    assert verdict == "ok"
    [[item]] = api.requests
    assert item["execution_id"] == "e1"
    assert item["complete"]["status"] == "succeeded"
    assert len(item["events"]) == 1  # its events travel with it


async def test_ends_that_arrive_during_a_flush_travel_together_in_the_next() -> None:
    api = HeldApi()
    reporter = _reporter(api)
    flusher = asyncio.create_task(reporter.run())
    try:
        first = reporter.complete("e0", 1, END)
        await api.wait_for_requests(1)  # in flight, held by the API
        rest = [reporter.complete(f"e{n}", 1, END) for n in range(1, 100)]
        api.release.set()
        verdicts = await asyncio.wait_for(asyncio.gather(first, *rest), LONG_S)
    finally:
        reporter.stop()
        await flusher
    assert verdicts == ["ok"] * 100
    assert [len(items) for items in api.requests] == [1, 99]
    assert reporter.requests_sent == 2


async def test_events_alone_wait_for_an_end_or_the_interval() -> None:
    """Without an end, events linger (here: a flush interval never reached), so that a chatty
    execution's events share a request; its end then carries them all at once."""
    api = HeldApi()
    api.release.set()
    reporter = _reporter(api)
    flusher = asyncio.create_task(reporter.run())
    try:
        for n in range(10):
            reporter.add_event("e1", 1, {"kind": "log", "message": str(n)})
        # Let the flush loop run as far as it would go on its own.
        for _ in range(20):
            await asyncio.sleep(0)
        assert api.requests == []
        assert await asyncio.wait_for(reporter.complete("e1", 1, END), LONG_S) == "ok"
    finally:
        reporter.stop()
        await flusher
    [[item]] = api.requests
    assert len(item["events"]) == 10
