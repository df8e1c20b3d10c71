"""Queue ceiling: the API's own claim and report SQL on PostgreSQL, with no HTTP, no signing
and no engine. Several workers (each its own connection, as the runners' requests are) loop:
claim up to a batch with `claims.claim_executions` (the claim a runner's long poll makes: the
SKIP LOCKED lease, the start, the claims' events, the flow revision), then end the whole batch
with one `reports.record_reports` (what a runner's `/runner/events` batch does: the fenced
delete of the queue rows, the steps and events an echo flow's run reports, the final statuses
and the NOTIFY), each in its own transaction. Executions per second is the ceiling that the
end-to-end drain through runners is compared with.

The events are those the engine really emits for the echo flow, captured once at start.

Reference, measured in the same run on the same pool: empty transactions (`SELECT 1`) per
second with the same number of workers, i.e. the round-trip floor of this machine.

Run: .venv/bin/python bench/queue_ceiling.py  (PostgreSQL at FLOMATION_BENCH_PG_DSN, default
postgresql://postgres@127.0.0.1:5432/postgres; a scratch database is created and dropped)
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from runners_common import ECHO, scratch_database
from sqlalchemy import insert, text

from flomation.db.session import Database
from flomation.engine.events import ListSink
from flomation.engine.executor import run_flow
from flomation.executions import claims as execution_claims
from flomation.executions import reports as execution_reports
from flomation.flows import service as flows
from flomation.ids import new_id
from flomation.models.auth import Organization
from flomation.models.executions import SUCCEEDED, Execution, QueueEntry

EXECUTIONS = 3000
HISTORY = 20_000  # finished executions already in the history table
SETTINGS = [(4, 1), (4, 10), (8, 10)]  # (workers, claim batch)
# Not reported by runners: the claim and the completion carry the execution's start and end.
_NOT_REPORTED = {"execution.started", "execution.finished"}


@dataclass
class Result:
    workers: int
    batch: int
    executions: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.executions / self.seconds


async def _fill(
    database: Database, organization_id: str, flow_id: str, count: int, *, finished: bool
) -> None:
    rows = []
    queue = []
    for _ in range(count):
        execution_id = new_id()
        rows.append(
            {
                "id": execution_id,
                "organization_id": organization_id,
                "flow_id": flow_id,
                "revision": 1,
                "status": SUCCEEDED if finished else "queued",
                "input": {"n": 1},
                "trigger": {"type": "manual"},
                "runs_on": {},
            }
        )
        queue.append(
            {
                "execution_id": execution_id,
                "organization_id": organization_id,
                "flow_id": flow_id,
                "labels": {},
            }
        )
    async with database.transaction() as session:
        for start in range(0, count, 1000):
            await session.execute(insert(Execution), rows[start : start + 1000])
            if not finished:
                await session.execute(insert(QueueEntry), queue[start : start + 1000])


async def echo_events() -> list[dict[str, Any]]:
    """The events a runner reports for one run of the echo flow."""
    sink = ListSink()
    await run_flow(ECHO, {"n": 1}, sink=sink)
    return [event.to_dict() for event in sink.events if event.kind not in _NOT_REPORTED]


async def _worker(
    database: Database, organization_id: str, name: str, batch: int, events: list[dict[str, Any]]
) -> int:
    done = 0
    while True:
        async with database.transaction() as session:
            claimed = await execution_claims.claim_executions(
                session,
                organization_id=organization_id,
                runner_id=name,
                labels={"location": "bench"},
                limit=batch,
                lease_seconds=60,
            )
        if not claimed:
            return done
        reports = [
            execution_reports.Report(
                execution_id=execution.id,
                attempt=execution.attempt,
                events=events,
                status=SUCCEEDED,
                output={"echo": 1},
            )
            for execution in claimed
        ]
        async with database.transaction() as session:
            refused = await execution_reports.record_reports(
                session, runner_id=name, reports=reports
            )
        assert refused == [None] * len(reports), refused
        done += len(claimed)


@dataclass(frozen=True)
class Tenant:
    """An organisation with the echo flow, and the events one of its runs reports."""

    organization_id: str
    flow_id: str
    events: list[dict[str, Any]]


async def make_tenant(database: Database, name: str = "bench") -> Tenant:
    async with database.transaction() as session:
        organization = Organization(name=name)
        session.add(organization)
        await session.flush()
        created = await flows.create_flow(
            session,
            organization_id=organization.id,
            author_id=None,
            name="echo",
            description="",
            definition=ECHO,
            message=None,
        )
        tenant = Tenant(organization.id, created.flow.id, await echo_events())
    return tenant


async def drain(database: Database, tenant: Tenant, workers: int, batch: int) -> Result:
    """Queue EXECUTIONS of the echo flow, then time `workers` claiming and reporting them."""
    await _fill(database, tenant.organization_id, tenant.flow_id, EXECUTIONS, finished=False)
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(
            _worker(database, tenant.organization_id, f"runner-{i}", batch, tenant.events)
            for i in range(workers)
        )
    )
    elapsed = time.perf_counter() - started
    assert sum(counts) == EXECUTIONS, counts
    return Result(workers, batch, EXECUTIONS, elapsed)


async def _round_trips(database: Database, workers: int, per_worker: int = 1500) -> float:
    async def loop() -> None:
        for _ in range(per_worker):
            async with database.transaction() as session:
                await session.execute(text("SELECT 1"))

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(workers)))
    return workers * per_worker / (time.perf_counter() - started)


async def main() -> None:
    # One pooled connection per worker, so the reference never pays for opening one.
    async with scratch_database(pool_size=max(w for w, _ in SETTINGS)) as (_, database):
        tenant = await make_tenant(database)
        await _fill(database, tenant.organization_id, tenant.flow_id, HISTORY, finished=True)
        print(f"PostgreSQL, {EXECUTIONS} executions per run, {HISTORY} finished in the history")
        for workers, batch in SETTINGS:
            reference = await _round_trips(database, workers)
            result = await drain(database, tenant, workers, batch)
            print(
                f"workers={workers} batch={batch}: {result.per_second:,.0f} executions/s "
                f"({result.seconds:.2f} s); reference SELECT 1 transactions: {reference:,.0f}/s"
            )


if __name__ == "__main__":
    asyncio.run(main())
