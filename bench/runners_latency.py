"""Runner latency and one-by-one throughput, through a real `flomation api` process and real
`flomation runner` processes on PostgreSQL.

1. Request to start: one idle runner long-polls; executions are requested one at a time through
   `POST /api/v1/flows/{id}/executions`, each waited for before the next. The figure is
   `started_at - queued_at` (both on the database's clock). Reference, same run: the round trip
   of the `POST` itself.
2. Throughput one by one: 8 clients each request executions one by one through the API for a
   fixed time while 2 runners run them; the figure is executions requested and finished per
   second. Reference, same run: `GET /healthz` round trips per second with 8 clients (the HTTP
   floor of the API process).

Run: .venv/bin/python bench/runners_latency.py  (BENCH_LATENCY_SAMPLES, default 200;
BENCH_THROUGHPUT_S, default 20)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from runners_common import (
    api_process,
    count_status,
    make_tenant,
    one_by_one_loop,
    percentile,
    runner_processes,
    scratch_database,
    wait_online,
)
from sqlalchemy import text

from flomation.db.session import Database

SAMPLES = int(os.environ.get("BENCH_LATENCY_SAMPLES", "200"))
THROUGHPUT_S = float(os.environ.get("BENCH_THROUGHPUT_S", "20"))
CLIENTS = 8


async def start_delay_s(database: Database, execution_id: str) -> float | None:
    async with database.transaction() as session:
        row = (
            await session.execute(
                text("SELECT status, queued_at, started_at FROM executions WHERE id = :i"),
                {"i": execution_id},
            )
        ).first()
    if row is None or row[0] != "succeeded":
        return None
    return float((row[2] - row[1]).total_seconds())


async def latency(database: Database, base_url: str, api_token: str, flow_id: str) -> None:
    headers = {"Authorization": f"Bearer {api_token}"}
    delays: list[float] = []
    round_trips: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        for n in range(SAMPLES):
            sent = time.perf_counter()
            answer = await client.post(
                f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": n}}
            )
            round_trips.append(time.perf_counter() - sent)
            assert answer.status_code == 201, answer.text
            execution_id = answer.json()["id"]
            while (delay := await start_delay_s(database, execution_id)) is None:
                await asyncio.sleep(0.005)
            delays.append(delay)
    print(
        f"request to start, idle runner, {SAMPLES} samples: "
        f"p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(delays, 0.99) * 1000:.0f} ms; reference POST round trip: "
        f"p50 {percentile(round_trips, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(round_trips, 0.99) * 1000:.0f} ms"
    )


async def throughput(
    database: Database, base_url: str, api_token: str, flow_id: str, organization_id: str
) -> None:
    headers = {"Authorization": f"Bearer {api_token}"}
    until = time.perf_counter() + 5
    health = await asyncio.gather(
        *(one_by_one_loop(base_url, {}, "/healthz", until, post=False) for _ in range(CLIENTS))
    )
    reference = sum(health) / 5
    before = await count_status(database, organization_id, "succeeded")
    started = time.perf_counter()
    until = started + THROUGHPUT_S
    counts = await asyncio.gather(
        *(
            one_by_one_loop(
                base_url,
                headers,
                f"/api/v1/flows/{flow_id}/executions",
                until,
                post=True,
                expect=201,
            )
            for _ in range(CLIENTS)
        )
    )
    requested = sum(counts)
    while await count_status(database, organization_id, "succeeded") < before + requested:
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    print(
        f"one by one through the API, {CLIENTS} clients, 2 runners: "
        f"{requested / THROUGHPUT_S:,.0f} executions requested/s, "
        f"{requested / elapsed:,.0f} finished/s ({requested} in "
        f"{elapsed:.1f} s); reference GET /healthz: {reference:,.0f} requests/s"
    )


async def main() -> None:
    async with scratch_database() as (url, database):
        tenant = await make_tenant(database)
        async with api_process(url) as base_url:
            async with runner_processes(base_url, tenant.runner_token, 1):
                await wait_online(base_url, tenant.api_token, 1)
                await asyncio.sleep(1)
                await latency(database, base_url, tenant.api_token, tenant.flow_id)
            async with runner_processes(base_url, tenant.runner_token, 2):
                await wait_online(base_url, tenant.api_token, 2)
                await throughput(
                    database, base_url, tenant.api_token, tenant.flow_id, tenant.organization_id
                )


if __name__ == "__main__":
    asyncio.run(main())
