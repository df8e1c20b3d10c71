"""Queue ceiling: the pure-SQL claim-and-complete loop on PostgreSQL, on the executions schema,
with no HTTP and no engine. Several workers (each its own connection) loop: claim up to a batch
in one transaction (the SKIP LOCKED claim, marking the executions running and their events:
the SQL of `service.claim_executions` without the flow and secrets look-ups), then completes
each claimed execution in its own transaction with `service.complete_execution` (the fenced
delete of the queue row, the final status, its events and the NOTIFY). Executions per second
is the ceiling that the end-to-end drain through runners is compared with.

Reference, measured in the same run on the same pool: empty transactions (`SELECT 1`) per
second with the same number of workers, i.e. the round-trip floor of this machine.

Run: .venv/bin/python bench/queue_ceiling.py  (PostgreSQL at FLOMATION_BENCH_PG_DSN, default
postgresql://postgres@127.0.0.1:5432/postgres; a scratch database is created and dropped)
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import insert, text

import flomation.models  # noqa: F401  (registers every table)
from flomation.db.base import Base
from flomation.db.session import Database
from flomation.executions import repository, service
from flomation.ids import new_id
from flomation.models.auth import Organization
from flomation.models.executions import SUCCEEDED, Execution, QueueEntry

ADMIN_DSN = os.environ.get(
    "FLOMATION_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
EXECUTIONS = 3000
HISTORY = 20_000  # finished executions already in the history table
SETTINGS = [(4, 1), (4, 10), (8, 10)]  # (workers, claim batch)


@dataclass
class Result:
    workers: int
    batch: int
    executions: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.executions / self.seconds


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _fill(database: Database, organization_id: str, count: int, *, finished: bool) -> None:
    rows = []
    queue = []
    for _ in range(count):
        execution_id = new_id()
        rows.append(
            {
                "id": execution_id,
                "organization_id": organization_id,
                "flow_id": "flow-1",
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
                "flow_id": "flow-1",
                "labels": {},
            }
        )
    async with database.transaction() as session:
        for start in range(0, count, 1000):
            await session.execute(insert(Execution), rows[start : start + 1000])
            if not finished:
                await session.execute(insert(QueueEntry), queue[start : start + 1000])


async def _worker(database: Database, organization_id: str, name: str, batch: int) -> int:
    done = 0
    while True:
        async with database.transaction() as session:
            ids = await repository.claim_queue_rows(
                session,
                organization_id=organization_id,
                runner_id=name,
                labels={"location": "bench"},
                limit=batch,
                lease_seconds=60,
            )
            claimed = await repository.mark_claimed(session, list(ids), name) if ids else []
            await repository.insert_events(
                session,
                [
                    {"execution_id": e.id, "seq": e.last_seq, "type": "execution", "payload": {}}
                    for e in claimed
                ],
            )
        if not claimed:
            return done
        for execution in claimed:
            async with database.transaction() as session:
                await service.complete_execution(
                    session,
                    runner_id=name,
                    execution_id=execution.id,
                    attempt=execution.attempt,
                    status=SUCCEEDED,
                    output={"ok": 1},
                    error=None,
                )
            done += 1


async def _drain(database: Database, organization_id: str, workers: int, batch: int) -> Result:
    await _fill(database, organization_id, EXECUTIONS, finished=False)
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(_worker(database, organization_id, f"runner-{i}", batch) for i in range(workers))
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
    name = f"flomation_bench_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    database = Database(url, pool_size=10)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with database.transaction() as session:
            organization = Organization(name="bench")
            session.add(organization)
            await session.flush()
            organization_id = organization.id
        await _fill(database, organization_id, HISTORY, finished=True)
        print(f"PostgreSQL, {EXECUTIONS} executions per run, {HISTORY} finished in the history")
        for workers, batch in SETTINGS:
            reference = await _round_trips(database, workers)
            result = await _drain(database, organization_id, workers, batch)
            print(
                f"workers={workers} batch={batch}: {result.per_second:,.0f} executions/s "
                f"({result.seconds:.2f} s); reference SELECT 1 transactions: {reference:,.0f}/s"
            )
    finally:
        await database.dispose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
