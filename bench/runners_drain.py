"""Runner drain: how fast real `flomation runner` processes drain queued echo executions
through a real `flomation api` process on PostgreSQL, as a fraction of the pure-SQL ceiling
(`bench/queue_ceiling.py`: the API's claim and report SQL with no HTTP and no engine)
measured in the same run, on the same database server, just before each case.

Each case: start the API and N runners (16 slots each), wait until they are online and idle
(long-polling), queue the executions in one transaction and wake them, and time until every
execution has succeeded.

Run: .venv/bin/python bench/runners_drain.py  (BENCH_EXECUTIONS, default 10000; BENCH_RUNNERS,
default "1,2,4")
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import queue_ceiling
from runners_common import (
    api_process,
    count_status,
    make_tenant,
    queue_executions,
    runner_processes,
    scratch_database,
    wait_online,
)

EXECUTIONS = int(os.environ.get("BENCH_EXECUTIONS", "10000"))
RUNNERS = [int(n) for n in os.environ.get("BENCH_RUNNERS", "1,2,4").split(",")]
CEILING_WORKERS, CEILING_BATCH = 4, 10


async def ceiling(database: object) -> float:
    """The pure-SQL claim-and-report rate (executions/s), in its own organisation."""
    tenant = await queue_ceiling.make_tenant(database, "ceiling")  # type: ignore[arg-type]
    result = await queue_ceiling.drain(
        database,  # type: ignore[arg-type]
        tenant,
        CEILING_WORKERS,
        CEILING_BATCH,
    )
    return result.per_second


async def drain_case(runners: int) -> tuple[float, float, float]:
    async with scratch_database() as (url, database):
        reference = await ceiling(database)
        tenant = await make_tenant(database)
        async with (
            api_process(url) as base_url,
            runner_processes(base_url, tenant.runner_token, runners),
        ):
            await wait_online(base_url, tenant.api_token, runners)
            await asyncio.sleep(1)  # every runner is in its long poll
            started = time.perf_counter()
            await queue_executions(database, tenant, EXECUTIONS)
            queued_s = time.perf_counter() - started
            while await count_status(database, tenant.organization_id, "succeeded") < EXECUTIONS:
                await asyncio.sleep(0.25)
            elapsed = time.perf_counter() - started
        failed = await count_status(database, tenant.organization_id, "failed")
        assert failed == 0, f"{failed} executions failed"
    return EXECUTIONS / elapsed, reference, queued_s


async def main() -> None:
    print(f"PostgreSQL, {EXECUTIONS} queued echo executions per case, 16 slots per runner")
    print(f"reference: queue_ceiling workers={CEILING_WORKERS} batch={CEILING_BATCH}")
    for runners in RUNNERS:
        rate, reference, queued_s = await drain_case(runners)
        print(
            f"runners={runners}: {rate:,.0f} executions/s through runners; "
            f"ceiling {reference:,.0f}/s; fraction {rate / reference:.0%} "
            f"(queueing took {queued_s:.1f} s of the drain)"
        )


if __name__ == "__main__":
    asyncio.run(main())
