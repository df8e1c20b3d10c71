"""The pieces of `bench/webhooks.py` that do not know about deployments: the three workloads
(flow, request body, expected answer), the load generator, CPU accounting from /proc, and
the execution timings read back through the API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from runners_common import KeepAliveClient, percentile

# --- workloads ---------------------------------------------------------------------------

CHAIN_LENGTH = 50
FANOUT_ITEMS = 1000


def _echo() -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "calc",
                "type": "set",
                "config": {"values": {"m": "{{ input.body.n * 2 }}", "tag": "ok"}},
            },
            {
                "id": "out",
                "type": "return",
                "config": {
                    "value": {
                        "m": "{{ nodes.calc.output.m }}",
                        "tag": "{{ nodes.calc.output.tag }}",
                    }
                },
            },
        ],
        "edges": [{"from": "start", "to": "calc"}, {"from": "calc", "to": "out"}],
    }


def _chain() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    edges: list[dict[str, str]] = []
    previous = "start"
    for i in range(CHAIN_LENGTH):
        source = "input.body.n" if i == 0 else f"nodes.s{i - 1}.output.counter"
        nodes.append(
            {
                "id": f"s{i}",
                "type": "set",
                "config": {"values": {"counter": f"{{{{ {source} + 1 }}}}"}},
            }
        )
        edges.append({"from": previous, "to": f"s{i}"})
        previous = f"s{i}"
    last = f"s{CHAIN_LENGTH - 1}"
    nodes.append(
        {
            "id": "out",
            "type": "return",
            "config": {"value": {"counter": f"{{{{ nodes.{last}.output.counter }}}}"}},
        }
    )
    edges.append({"from": previous, "to": "out"})
    return {"version": 1, "nodes": nodes, "edges": edges}


def _fanout() -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "loop", "type": "foreach", "config": {"items": "{{ input.body.items }}"}},
            {"id": "double", "type": "set", "config": {"values": {"d": "{{ item * 2 }}"}}},
            {
                "id": "out",
                "type": "return",
                "config": {
                    "value": {"sum": "{{ nodes.loop.output.results | map(attribute='d') | sum }}"}
                },
            },
        ],
        "edges": [
            {"from": "start", "to": "loop"},
            {"from": "loop", "to": "double", "port": "each"},
            {"from": "loop", "to": "out", "port": "done"},
        ],
    }


@dataclass(frozen=True)
class Workload:
    name: str
    path: str  # the webhook's path under /hooks/
    definition: dict[str, Any]
    body: Callable[[int], bytes]  # request k's JSON body
    expect: Callable[[int], Any]  # request k's expected answer


WORKLOADS = {
    "w1": Workload(
        "W1 echo",
        "bench-w1",
        _echo(),
        lambda k: b'{"n":%d}' % k,
        lambda k: {"m": 2 * k, "tag": "ok"},
    ),
    "w2": Workload(
        "W2 chain",
        "bench-w2",
        _chain(),
        lambda k: b'{"n":%d}' % k,
        lambda k: {"counter": k + CHAIN_LENGTH},
    ),
    "w3": Workload(
        "W3 fan-out",
        "bench-w3",
        _fanout(),
        lambda k: json.dumps({"items": list(range(k, k + FANOUT_ITEMS))}).encode(),
        lambda k: {"sum": 2 * (FANOUT_ITEMS * k + FANOUT_ITEMS * (FANOUT_ITEMS - 1) // 2)},
    ),
}


async def install_workloads(base_url: str, api_token: str, names: set[str]) -> None:
    """Each workload's flow and its public `respond: sync` webhook, through the API."""
    headers = {"Authorization": f"Bearer {api_token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        for key, workload in WORKLOADS.items():
            if key not in names:
                continue
            created = await client.post(
                "/api/v1/flows", json={"name": workload.name, "definition": workload.definition}
            )
            created.raise_for_status()
            trigger = await client.post(
                f"/api/v1/flows/{created.json()['id']}/triggers",
                json={
                    "type": "webhook",
                    "config": {
                        "path": workload.path,
                        "method": "POST",
                        "respond": "sync",
                        "sync_timeout_s": 120,
                    },
                    "enabled": True,
                },
            )
            trigger.raise_for_status()


# --- CPU from /proc ----------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            raw = handle.read()
    except OSError:
        return None
    # The command name may hold spaces: fields after the closing parenthesis, from field 3.
    return raw[raw.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, as they are now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes, plus cutime + cstime (children they reaped)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            # Fields 14-17 of /proc/pid/stat, here from field 3: indexes 11-14.
            total += sum(int(value) for value in fields[11:15])
    return total / _TICK


@dataclass
class ProcessGroups:
    """Named groups of processes whose CPU is reported per execution; each group is its root
    pids and (when `trees`) their descendants, looked up again at each sample."""

    roots: dict[str, list[int]]
    trees: bool = True

    def sample(self) -> dict[str, float]:
        out = {}
        for name, pids in self.roots.items():
            every = [p for root in pids for p in (descendants(root) if self.trees else [root])]
            out[name] = cpu_seconds(every)
        return out


# --- the load generator ------------------------------------------------------------------


@dataclass
class CaseResult:
    case: str
    clients: int
    elapsed_s: float
    ok: int = 0
    wrong: int = 0  # answered, but not with the expected body
    errors: int = 0  # no answer (a broken connection or a timeout)
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    load_generator_cpu_ms_per_request: float = 0.0
    first_wrong: str = ""
    queued_ms: list[float] = field(default_factory=list)  # started_at - queued_at
    run_ms: list[float] = field(default_factory=list)  # finished_at - started_at
    window_started: datetime | None = None  # wall clock at the start of the measured window
    # With a probe (`--count`): what the server counted in the window, per answered request.
    counts: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {
            "case": self.case,
            "clients": self.clients,
            "ok": self.ok,
            "wrong": self.wrong,
            "errors": self.errors,
            "req_s": self.ok / self.elapsed_s if self.elapsed_s else 0.0,
            "p50_ms": percentile(lat, 0.5) if lat else None,
            "p99_ms": percentile(lat, 0.99) if lat else None,
            "max_ms": max(lat) if lat else None,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "load_generator_cpu_ms_per_request": self.load_generator_cpu_ms_per_request,
            "queued_ms_p50": percentile(self.queued_ms, 0.5) if self.queued_ms else None,
            "queued_ms_max": max(self.queued_ms) if self.queued_ms else None,
            "queued_over_1s": sum(1 for q in self.queued_ms if q > 1000),
            "run_ms_p50": percentile(self.run_ms, 0.5) if self.run_ms else None,
            "run_ms_max": max(self.run_ms) if self.run_ms else None,
            "first_wrong": self.first_wrong,
            "counts": self.counts,
        }


REQUEST_TIMEOUT_S = 150.0
Counts = dict[str, dict[str, int]]  # "statements" and "requests": what the server counted


async def _client_loop(
    base_url: str,
    method: str,
    path: str,
    body: Callable[[int], bytes] | None,
    expect: Callable[[int], Any] | None,
    counter: list[int],
    until: float,
    result: CaseResult | None,
) -> None:
    """Requests one after the other on one keep-alive connection until `until`; a request in
    flight at `until` is awaited and counted."""
    client: KeepAliveClient | None = None
    try:
        while time.perf_counter() < until:
            if client is None:
                client = await KeepAliveClient(base_url).__aenter__()
            k = counter[0]
            counter[0] += 1
            payload = body(k) if body is not None else b""
            started = time.perf_counter()
            try:
                status, answer = await asyncio.wait_for(
                    client.request(method, path, payload), REQUEST_TIMEOUT_S
                )
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                if result is not None:
                    result.errors += 1
                with contextlib.suppress(Exception):
                    await client.__aexit__(None, None, None)
                client = None
                continue
            if result is None:
                continue
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            good = status == 200 and (expect is None or json.loads(answer) == expect(k))
            if good:
                result.ok += 1
            else:
                result.wrong += 1
                if not result.first_wrong:
                    result.first_wrong = f"{status} {answer[:200]!r}"
    finally:
        if client is not None:
            await client.__aexit__(None, None, None)


async def run_case(
    base_url: str,
    case: str,
    *,
    method: str,
    path: str,
    clients: int,
    duration_s: float,
    warmup_s: float,
    groups: ProcessGroups,
    body: Callable[[int], bytes] | None = None,
    expect: Callable[[int], Any] | None = None,
    probe: Callable[[], Awaitable[Counts]] | None = None,
) -> CaseResult:
    counter = [0]
    if warmup_s > 0:
        until = time.perf_counter() + warmup_s
        await asyncio.gather(
            *(
                _client_loop(base_url, method, path, body, expect, counter, until, None)
                for _ in range(clients)
            )
        )
    result = CaseResult(case, clients, 0.0, window_started=datetime.now(UTC))
    counted = await probe() if probe is not None else None
    before, own_before = groups.sample(), time.process_time()
    started = time.perf_counter()
    until = started + duration_s
    await asyncio.gather(
        *(
            _client_loop(base_url, method, path, body, expect, counter, until, result)
            for _ in range(clients)
        )
    )
    result.elapsed_s = time.perf_counter() - started
    after, own_after = groups.sample(), time.process_time()
    answered = max(1, result.ok + result.wrong)
    result.cpu_ms_per_request = {
        name: (after[name] - before[name]) * 1000 / answered for name in before
    }
    result.load_generator_cpu_ms_per_request = (own_after - own_before) * 1000 / answered
    if probe is not None and counted is not None:
        now = await probe()
        result.counts = {
            kind: {
                key: (value - counted[kind].get(key, 0)) / answered
                for key, value in now[kind].items()
                if value != counted[kind].get(key, 0)
            }
            for kind in now
        }
    return result


# --- execution timings, read back through the API ----------------------------------------


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def execution_timings(
    base_url: str, api_token: str, since: datetime, result: CaseResult
) -> None:
    """started_at - queued_at and finished_at - started_at of the executions queued since
    `since` (every flow), into `result`."""
    headers = {"Authorization": f"Bearer {api_token}"}
    cursor: str | None = None
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/api/v1/executions", params=params)).json()
            stop = False
            for item in page["items"]:
                queued = _parse(item.get("queued_at"))
                begun = _parse(item.get("started_at"))
                ended = _parse(item.get("finished_at"))
                if queued is None or queued < since:
                    stop = True
                    continue
                if begun is not None:
                    result.queued_ms.append((begun - queued).total_seconds() * 1000)
                    if ended is not None:
                        result.run_ms.append((ended - begun).total_seconds() * 1000)
            cursor = page.get("next_cursor")
            if stop or not cursor:
                return
