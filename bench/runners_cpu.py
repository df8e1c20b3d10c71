"""CPU seconds per execution and the python-node chain, through real processes.

1. CPU per execution (PostgreSQL): a `flomation api` process and 2 `flomation runner` processes;
   8 clients request echo executions one by one through the API for a fixed time; the CPU time
   (user + system, from /proc/<pid>/stat, each process and its descendants) the API process and
   the runner processes spent from the first request until the last execution succeeded,
   divided by the executions. Reference, same run: the API's CPU per `GET /healthz` answered
   by the same clients.
2. Python chain (PostgreSQL): one runner; a flow of 40 `python` nodes in a line, each busy for
   10 ms of CPU, requested through the API; time from the request to the execution's end
   (database clock), 10 samples. Reference, same run: the same 40 x 10 ms of work in this
   process, and the chain's own figure minus that work (the overhead per step).
3. `flomation up` on SQLite: the embedded API with its local runner; the one-by-one throughput
   and the request-to-start latency of echo executions (as `bench/runners_latency.py`), and
   the CPU per execution of the `up` process and its runner. Reference: `GET /healthz` per second.

Run: .venv/bin/python bench/runners_cpu.py  (BENCH_THROUGHPUT_S, default 15; BENCH_CASES,
default "cpu,chain,up"; BENCH_CLIENTS, the one-by-one clients, default 8; BENCH_API_WORKERS,
default 1)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from runners_common import (
    ECHO,
    FLOMATION,
    _environment,
    api_process,
    count_status,
    free_port,
    make_tenant,
    one_by_one_loop,
    percentile,
    runner_processes,
    scratch_database,
    wait_online,
)
from sqlalchemy import text

from flomation.db.session import Database

THROUGHPUT_S = float(os.environ.get("BENCH_THROUGHPUT_S", "15"))
CASES = os.environ.get("BENCH_CASES", "cpu,chain,up").split(",")
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
CHAIN_STEPS, STEP_WORK_S, CHAIN_SAMPLES = 40, 0.010, 10
TICKS = os.sysconf("SC_CLK_TCK")

BUSY = (
    "import time\n\n"
    "def main(ctx):\n"
    "    until = time.process_time() + 0.010\n"
    "    while time.process_time() < until:\n"
    "        pass\n"
    "    return {'n': 1}\n"
)


def chain_definition() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    edges = []
    previous = "start"
    for i in range(CHAIN_STEPS):
        node_id = f"py{i}"
        nodes.append({"id": node_id, "type": "python", "config": {"code": BUSY}})
        edges.append({"from": previous, "to": node_id})
        previous = node_id
    return {"version": 1, "nodes": nodes, "edges": edges}


# --------------------------------------------------------------------------- CPU accounting


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process itself and its reaped children)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, (utime + stime + cutime + cstime) / TICKS


def tree_cpu_s(root: int) -> float:
    """CPU seconds of `root` and every live descendant (reaped ones are in their parent's)."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))) is not None:
            stats[int(entry)] = found
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        if pid in stats:
            total += stats[pid][1]
        stack.extend(children.get(pid, []))
    return total


def postgres_cpu_s() -> float:
    """CPU seconds of every PostgreSQL server process on this host (other databases' work
    included: read it on a quiet machine)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                found = _stat(int(entry))
                total += found[1] if found is not None else 0.0
    return total


def api_pid(port: int) -> int:
    """The pid of the process listening on `port` (the API), from /proc/net/tcp."""
    wanted = f":{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(wanted) and parts[3] == "0A":
            inodes.add(parts[9])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{entry}/fd"):
                link = os.readlink(f"/proc/{entry}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(entry)
    raise RuntimeError(f"nobody listens on {port}")


def main_pid(pid: int) -> int:
    """`flomation api --workers N` listens in its workers: account from their common parent."""
    stat = _stat(pid)
    if stat is None:
        return pid
    parent = stat[0]
    cmdline = Path(f"/proc/{parent}/cmdline").read_bytes() if parent > 1 else b""
    return parent if b"flomation" in cmdline else pid


# --------------------------------------------------------------------------- load


async def one_by_one(
    base_url: str,
    headers: dict[str, str],
    flow_id: str,
    succeeded: Any,
    api_cpu_s: Any,
    runner_cpu_s: Any,
) -> str:
    until = time.perf_counter() + 5
    cpu0 = api_cpu_s()
    health = sum(
        await asyncio.gather(
            *(one_by_one_loop(base_url, {}, "/healthz", until, post=False) for _ in range(CLIENTS))
        )
    )
    health_cpu = api_cpu_s() - cpu0
    before = await succeeded()
    api0, runners0, client0 = api_cpu_s(), runner_cpu_s(), time.process_time()
    postgres0 = postgres_cpu_s()
    started = time.perf_counter()
    until = started + THROUGHPUT_S
    path = f"/api/v1/flows/{flow_id}/executions"
    requested = sum(
        await asyncio.gather(
            *(
                one_by_one_loop(base_url, headers, path, until, post=True, expect=201)
                for _ in range(CLIENTS)
            )
        )
    )
    while await succeeded() < before + requested:
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client0
    postgres_cpu = postgres_cpu_s() - postgres0
    api_cpu = api_cpu_s() - api0
    runner_cpu = runner_cpu_s() - runners0
    return (
        f"{CLIENTS} clients one by one: {requested / THROUGHPUT_S:,.0f} requested/s, "
        f"{requested / elapsed:,.0f} finished/s ({requested} in {elapsed:.1f} s); "
        f"CPU per execution: API {api_cpu / requested * 1000:.2f} ms, "
        f"runners {runner_cpu / requested * 1000:.2f} ms, "
        f"PostgreSQL {postgres_cpu / requested * 1000:.2f} ms, "
        f"this load generator {client_cpu / requested * 1000:.2f} ms; "
        f"reference GET /healthz: {health / 5:,.0f}/s at "
        f"{health_cpu / max(health, 1) * 1000:.2f} ms API CPU each"
    )


# --------------------------------------------------------------------------- cases


async def cpu_case() -> None:
    async with scratch_database() as (url, database):
        tenant = await make_tenant(database)
        workers = os.environ.get("BENCH_API_WORKERS", "1")
        async with api_process(url) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            root = main_pid(api_pid(port))
            async with runner_processes(base_url, tenant.runner_token, 2) as runners:
                await wait_online(base_url, tenant.api_token, 2)

                async def succeeded() -> int:
                    return await count_status(database, tenant.organization_id, "succeeded")

                line = await one_by_one(
                    base_url,
                    {"Authorization": f"Bearer {tenant.api_token}"},
                    tenant.flow_id,
                    succeeded,
                    lambda: tree_cpu_s(root),
                    lambda: sum(tree_cpu_s(p.pid) for p in runners),
                )
                print(f"PostgreSQL, API workers={workers}, 2 runners: {line}")


async def _ended_delay_s(database: Database, execution_id: str) -> float | None:
    async with database.transaction() as session:
        row = (
            await session.execute(
                text("SELECT status, queued_at, finished_at FROM executions WHERE id = :i"),
                {"i": execution_id},
            )
        ).first()
    if row is None or row[2] is None:
        return None
    assert row[0] == "succeeded", row[0]
    return float((row[2] - row[1]).total_seconds())


def _work_alone_s() -> float:
    namespace: dict[str, Any] = {}
    exec(BUSY, namespace)  # our own constant: the same work in this process
    started = time.perf_counter()
    for _ in range(CHAIN_STEPS):
        namespace["main"]({})
    return time.perf_counter() - started


async def chain_case() -> None:
    async with scratch_database() as (url, database):
        tenant = await make_tenant(database, chain_definition())
        async with (
            api_process(url) as base_url,
            runner_processes(base_url, tenant.runner_token, 1),
        ):
            await wait_online(base_url, tenant.api_token, 1)
            await asyncio.sleep(1)
            delays: list[float] = []
            headers = {"Authorization": f"Bearer {tenant.api_token}"}
            async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
                for n in range(CHAIN_SAMPLES + 1):
                    answer = await client.post(
                        f"/api/v1/flows/{tenant.flow_id}/executions", json={"input": {}}
                    )
                    assert answer.status_code == 201, answer.text
                    execution_id = answer.json()["id"]
                    while (delay := await _ended_delay_s(database, execution_id)) is None:
                        await asyncio.sleep(0.01)
                    if n:  # the first one warms the fork server's imports
                        delays.append(delay)
    work = _work_alone_s()
    p50 = percentile(delays, 0.5)
    print(
        f"python chain, {CHAIN_STEPS} steps of {STEP_WORK_S * 1000:.0f} ms CPU, "
        f"{CHAIN_SAMPLES} samples: request to end p50 {p50 * 1000:.0f} ms, "
        f"max {max(delays) * 1000:.0f} ms; reference, the same work in one process: "
        f"{work * 1000:.0f} ms; overhead per step {(p50 - work) / CHAIN_STEPS * 1000:.1f} ms"
    )


async def up_case() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        env = _environment(
            {
                "FLOMATION_DATA_DIR": data_dir,
                "FLOMATION_ADMIN_EMAIL": "bench@example.com",
                "FLOMATION_ADMIN_PASSWORD": "bench-password-1234",
                "FLOMATION_LOG_LEVEL": "WARNING",
                "FLOMATION_RUNNER_LOG_LEVEL": "WARNING",
            }
        )
        process = subprocess.Popen(  # noqa: ASYNC220
            [FLOMATION, "up", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        database = Database(f"sqlite+aiosqlite:///{data_dir}/flomation.db")
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                for _ in range(300):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                login = await client.post(
                    "/api/v1/auth/login",
                    json={"email": "bench@example.com", "password": "bench-password-1234"},
                )
                assert login.status_code == 200, login.text
                session_headers = {"Authorization": f"Bearer {login.json()['token']}"}
                made = await client.post(
                    "/api/v1/tokens", json={"name": "bench"}, headers=session_headers
                )
                assert made.status_code == 201, made.text
                headers = {"Authorization": f"Bearer {made.json()['token']}"}
                flow = await client.post(
                    "/api/v1/flows",
                    json={"name": "echo", "definition": ECHO},
                    headers=headers,
                )
                assert flow.status_code == 201, flow.text
                flow_id = flow.json()["id"]
                organization = await client.get("/api/v1/organization", headers=headers)
                organization_id = organization.json()["id"]
                await wait_online(base_url, headers["Authorization"][7:], 1)
                await asyncio.sleep(1)
                starts, trips = [], []
                for n in range(200):
                    sent = time.perf_counter()
                    answer = await client.post(
                        f"/api/v1/flows/{flow_id}/executions",
                        json={"input": {"n": n}},
                        headers=headers,
                    )
                    trips.append(time.perf_counter() - sent)
                    execution_id = answer.json()["id"]
                    while True:
                        async with database.transaction() as session:
                            row = (
                                await session.execute(
                                    text(
                                        "SELECT status, queued_at, started_at FROM executions "
                                        "WHERE id = :i"
                                    ),
                                    {"i": execution_id},
                                )
                            ).first()
                        if row is not None and row[0] == "succeeded":
                            started_at, queued_at = (
                                datetime.fromisoformat(str(v)) for v in (row[2], row[1])
                            )
                            starts.append((started_at - queued_at).total_seconds())
                            break
                        await asyncio.sleep(0.005)
            print(
                f"flomation up (SQLite), request to start, idle local runner, 200 samples: "
                f"p50 {percentile(starts, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(starts, 0.99) * 1000:.0f} ms; reference POST round trip "
                f"p50 {percentile(trips, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(trips, 0.99) * 1000:.0f} ms"
            )

            async def succeeded() -> int:
                return await count_status(database, organization_id, "succeeded")

            # The local runner is a child of the `up` process: it is accounted apart.
            runner_roots = [
                pid
                for pid in (int(e) for e in os.listdir("/proc") if e.isdigit())
                if (stat := _stat(pid)) is not None and stat[0] == process.pid
            ]

            def runner_cpu() -> float:
                return sum(tree_cpu_s(pid) for pid in runner_roots)

            def up_cpu() -> float:
                return tree_cpu_s(process.pid) - runner_cpu()

            line = await one_by_one(base_url, headers, flow_id, succeeded, up_cpu, runner_cpu)
            print(f"flomation up (SQLite), 1 local runner: {line}")
        finally:
            await database.dispose()
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(20)
            if process.poll() is None:
                process.kill()


async def main() -> None:
    for case in CASES:
        await {"cpu": cpu_case, "chain": chain_case, "up": up_case}[case]()


if __name__ == "__main__":
    asyncio.run(main())
