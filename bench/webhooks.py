"""The synchronous webhook path, end to end (issue 18): three workloads behind public
`respond: sync` webhooks, each answer's body checked, against real deployments.

- W1 echo: `POST {"n": k}` -> set (m = n*2, tag = "ok") -> return {"m", "tag"}.
- W2 chain: `POST {"n": k}` -> 50 set nodes adding 1 to `counter` -> return {"counter": k + 50}.
- W3 fan-out: `POST {"items": [1000 numbers]}` -> foreach (body: one set doubling the item)
  -> return {"sum": the sum of the doubled items}.

Deployments (`--only`, default all):
- `up`: `flomation up` on SQLite (a fresh temporary data directory): the API and Launch in one
  process, its local runner a child process.
- `pg1`, `pg2`: a scratch PostgreSQL database (FLOMATION_BENCH_PG_DSN), `flomation api
  --workers 1` or `2`, `flomation launch`, and two `flomation runner` processes of 16 slots.

Cases (`--cases`, default all): `health-1`, `health-32` (the API's `/healthz`, the reference
measured in the same run), `w1-1`, `w1-32`, `w2-4`, `w3-4` (workload-clients; any other
number of clients works too, e.g. `w1-4`). Each case runs a warm-up, then `--duration` seconds
of requests from N clients, each on its own keep-alive connection, one request after the
other; the requests in flight at the end are awaited and counted. The load generator writes
raw HTTP/1.1 on asyncio streams (runners_common's KeepAliveClient: httpx costs about ten
times its CPU per request, on the cores it measures).

Per case: answers with the expected body per second, p50/p99/max latency, wrong answers and
errors, the CPU per answered request of each process group (utime + stime + reaped
children's from /proc, each group's process tree), the load generator's own CPU, and from the
API the executions' queue delay (started_at - queued_at) and run time (finished_at -
started_at).

    .venv/bin/python bench/webhooks.py [--only up|pg1|pg2] [--duration 10] [--warmup 2]
        [--cases w1-1,w1-32] [--json out.json] [--pids] [--count FILE]

`--count FILE` is a side run for diagnosis: the server (`up`, or `api --workers 1`) runs under
bench/webhooks_count.py and each workload case also prints the SQL statements, transactions
and HTTP requests the server handled per execution (its latencies are not the benchmark's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# ruff: noqa: ASYNC220  (processes are started once per deployment)
import httpx
from runners_common import (
    FLOMATION,
    SECRET_KEY,
    free_port,
    make_tenant,
    runner_processes,
    scratch_database,
    wait_online,
)
from webhooks_load import (
    WORKLOADS,
    CaseResult,
    Counts,
    ProcessGroups,
    cpu_seconds,
    descendants,
    execution_timings,
    install_workloads,
    run_case,
)

CASES = ["health-1", "health-32", "w1-1", "w1-32", "w2-4", "w3-4"]
DEPLOYMENTS = ["up", "pg1", "pg2"]
ADMIN_EMAIL = "bench@bench.test"
ADMIN_PASSWORD = "bench-password-1234"


@dataclass
class Deployment:
    name: str
    base_url: str
    api_token: str
    groups: ProcessGroups
    server_pid: int  # `flomation up` or `flomation api` (the parent of its workers)


COUNTER = str(Path(__file__).parent / "webhooks_count.py")


def _server_command(count_file: Path | None) -> list[str]:
    """`flomation`, or with `--count` the same run by the counting wrapper."""
    return [FLOMATION] if count_file is None else [sys.executable, COUNTER]


def _server_env(count_file: Path | None, extra: dict[str, str]) -> dict[str, str]:
    env = _environment({"FLOMATION_SECRET_KEY": SECRET_KEY, "FLOMATION_LOG_LEVEL": "WARNING"})
    env.update(extra)
    if count_file is not None:
        env["FLOMATION_BENCH_COUNT_FILE"] = str(count_file)
    return env


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOMATION_")}
    env.update(extra)
    return env


async def _wait_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{base_url}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(40)
    except subprocess.TimeoutExpired:
        process.kill()


@asynccontextmanager
async def up_deployment(count_file: Path | None) -> AsyncIterator[Deployment]:
    with tempfile.TemporaryDirectory(prefix="flomation-bench-up-") as data_dir:
        port = free_port()
        env = _server_env(
            count_file,
            {"FLOMATION_ADMIN_EMAIL": ADMIN_EMAIL, "FLOMATION_ADMIN_PASSWORD": ADMIN_PASSWORD},
        )
        command = [*_server_command(count_file), "up", "--host", "127.0.0.1", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--data-dir", data_dir],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            await _wait_healthy(base_url, process)
            async with httpx.AsyncClient(base_url=base_url) as client:
                login = await client.post(
                    "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                )
                login.raise_for_status()
                token = login.json()["token"]
            await wait_online(base_url, token, 1)
            yield Deployment("up", base_url, token, _UpGroups(process.pid), process.pid)
        finally:
            _stop(process)


class _UpGroups(ProcessGroups):
    """`flomation up`: its own process (API and Launch; its reaped children count too), and
    the tree below it (the local runner, restarted or not)."""

    def __init__(self, pid: int) -> None:
        super().__init__({"up (API+Launch)": [pid], "up runner": list(descendants(pid)[1:])})
        self.pid = pid

    def sample(self) -> dict[str, float]:
        below = [p for p in descendants(self.pid) if p != self.pid]
        return {"up (API+Launch)": cpu_seconds([self.pid]), "up runner": cpu_seconds(below)}


@asynccontextmanager
async def pg_deployment(workers: int, count_file: Path | None) -> AsyncIterator[Deployment]:
    async with scratch_database() as (url, database):
        tenant = await make_tenant(database)
        await database.dispose()  # the bench holds no connections while it measures
        port = free_port()
        database_env = {"FLOMATION_DATABASE_URL": url}
        api = subprocess.Popen(
            [
                *_server_command(count_file),
                "api",
                "--no-migrate",  # scratch_database made the schema
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=_server_env(count_file, database_env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        launch = subprocess.Popen(
            [FLOMATION, "launch"],
            env=_server_env(None, database_env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            await _wait_healthy(base_url, api)
            async with runner_processes(
                base_url, tenant.runner_token, 2, max_concurrent=16
            ) as runners:
                await wait_online(base_url, tenant.api_token, 2)
                groups = ProcessGroups(
                    {
                        f"api x{workers}": [api.pid],
                        "launch": [launch.pid],
                        "runner 1": [runners[0].pid],
                        "runner 2": [runners[1].pid],
                    }
                )
                yield Deployment(f"pg{workers}", base_url, tenant.api_token, groups, api.pid)
        finally:
            _stop(launch)
            _stop(api)


async def run_deployment(
    deployment: Deployment, cases: list[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    await install_workloads(
        deployment.base_url, deployment.api_token, {c.split("-")[0] for c in cases}
    )
    if args.pids:
        print(f"# {deployment.name} pids: {deployment.groups.roots or 'see /proc'}", flush=True)
    probe = _probe(deployment.server_pid, args.count) if args.count is not None else None
    rows = []
    for case in cases:
        kind, clients = case.split("-")
        load_before = os.getloadavg()[0]
        if kind == "health":
            result = await run_case(
                deployment.base_url,
                case,
                method="GET",
                path="/healthz",
                clients=int(clients),
                duration_s=args.duration,
                warmup_s=args.warmup,
                groups=deployment.groups,
            )
        else:
            workload = WORKLOADS[kind]
            result = await run_case(
                deployment.base_url,
                case,
                method="POST",
                path=f"/hooks/{workload.path}",
                clients=int(clients),
                duration_s=args.duration,
                warmup_s=args.warmup,
                groups=deployment.groups,
                body=workload.body,
                expect=workload.expect,
                probe=probe,
            )
            # Only what was queued inside the measured window (the warm-up ended before).
            window = CaseResult(case, 0, 0.0)
            assert result.window_started is not None
            await execution_timings(
                deployment.base_url, deployment.api_token, result.window_started, window
            )
            result.queued_ms, result.run_ms = window.queued_ms, window.run_ms
        row = {"deployment": deployment.name, "load_avg_1m": load_before, **result.summary()}
        rows.append(row)
        print(_format_row(row), flush=True)
        if result.counts:
            print(_format_counts(result.counts), flush=True)
    return rows


def _probe(pid: int, count_file: Path) -> Callable[[], Awaitable[Counts]]:
    """Asks the counting wrapper (`--count`) for its counts: SIGUSR1, then its next dump."""

    async def probe() -> Counts:
        def read() -> dict[str, Any]:
            try:
                return dict(json.loads(count_file.read_text()))
            except (OSError, ValueError):
                return {"dump": 0}

        previous = read()["dump"]
        os.kill(pid, signal.SIGUSR1)
        for _ in range(500):
            current = read()
            if current["dump"] > previous:
                return {"statements": current["statements"], "requests": current["requests"]}
            await asyncio.sleep(0.01)
        raise RuntimeError("the counting wrapper did not answer")

    return probe


def _format_counts(counts: dict[str, dict[str, float]]) -> str:
    statements = counts.get("statements", {})
    sql = sum(v for k, v in statements.items() if not k.startswith("("))
    lines = [
        f"    per request: {sql:.1f} SQL statements, {statements.get('(BEGIN)', 0):.1f}"
        f" transactions; HTTP: "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(counts.get("requests", {}).items()))
    ]
    top = sorted(((v, k) for k, v in statements.items() if not k.startswith("(")), reverse=True)[
        :15
    ]
    lines.extend(f"      {v:6.2f}  {k}" for v, k in top)
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _format_row(row: dict[str, Any]) -> str:
    cpu = ", ".join(f"{k} {v:.2f}" for k, v in row["cpu_ms_per_request"].items())
    queued = ""
    if row["queued_ms_p50"] is not None:
        queued = (
            f" | queued p50 {_ms(row['queued_ms_p50'])} max {_ms(row['queued_ms_max'])}"
            f" (>1 s: {row['queued_over_1s']}) run p50 {_ms(row['run_ms_p50'])}"
            f" max {_ms(row['run_ms_max'])}"
        )
    wrong = f" first wrong: {row['first_wrong']}" if row["first_wrong"] else ""
    return (
        f"{row['deployment']:<4} {row['case']:<9} | {row['req_s']:8.1f} req/s | p50"
        f" {_ms(row['p50_ms']):>8} p99 {_ms(row['p99_ms']):>9} max {_ms(row['max_ms']):>9} ms"
        f" | ok {row['ok']} wrong {row['wrong']} errors {row['errors']}"
        f" | CPU ms/req: {cpu}, load generator {row['load_generator_cpu_ms_per_request']:.2f}"
        f"{queued} | load {row['load_avg_1m']:.1f}{wrong}"
    )


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| deployment | case | req/s | p50 ms | p99 ms | max ms | ok / wrong / errors |"
        " CPU ms per request | queued p50 / max ms (>1 s) | run p50 ms | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in r["cpu_ms_per_request"].items())
        cpu += f"; generator {r['load_generator_cpu_ms_per_request']:.2f}"
        queued = (
            "-"
            if r["queued_ms_p50"] is None
            else f"{_ms(r['queued_ms_p50'])} / {_ms(r['queued_ms_max'])} ({r['queued_over_1s']})"
        )
        lines.append(
            f"| {r['deployment']} | {r['case']} | {r['req_s']:,.1f} | {_ms(r['p50_ms'])} |"
            f" {_ms(r['p99_ms'])} | {_ms(r['max_ms'])} | {r['ok']} / {r['wrong']} /"
            f" {r['errors']} | {cpu} | {queued} | {_ms(r['run_ms_p50'])} |"
            f" {r['load_avg_1m']:.1f} |"
        )
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=DEPLOYMENTS, action="append")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each case")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"KIND-CLIENTS,... (default {','.join(CASES)})"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--pids", action="store_true", help="print the processes measured")
    parser.add_argument(
        "--count",
        type=Path,
        metavar="FILE",
        help="a side run: serve through bench/webhooks_count.py (dumping to FILE) and print"
        " the SQL statements, transactions and HTTP requests per execution (up, pg1 only)",
    )
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    # Any workload at any number of clients: `w1-4`, `health-8`, ...
    unknown = [c for c in cases if not re.fullmatch(r"(health|w1|w2|w3)-[1-9][0-9]*", c)]
    if unknown:
        parser.error(f"unknown cases {unknown}: KIND-CLIENTS, KIND one of health, w1, w2, w3")
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average"
        f" {os.getloadavg()}, {args.duration:g} s per case after {args.warmup:g} s of warm-up",
        flush=True,
    )
    count_file = args.count
    if count_file is not None and any(n == "pg2" for n in (args.only or DEPLOYMENTS)):
        parser.error("--count counts one process: use it with --only up or --only pg1")
    rows: list[dict[str, Any]] = []
    for name in args.only or DEPLOYMENTS:
        started = time.perf_counter()
        deploy = (
            up_deployment(count_file) if name == "up" else pg_deployment(int(name[2:]), count_file)
        )
        async with deploy as deployment:
            rows.extend(await run_deployment(deployment, cases, args))
        print(f"# {name}: {time.perf_counter() - started:.0f} s", flush=True)
    print()
    print(_table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
