"""The report path of one W3 execution (issue 18): what the API's `record_reports` costs to
store a foreach over 1,000 items (body: one `set` doubling the item, then `return` the sum),
as a runner reports it: the engine's events in batches of at most 500 (the runner's default
`event_batch_max`), the end with the last batch, one transaction per batch.

Counts the statements the database receives, the rows they leave (steps, step packs, stream
events), this process's CPU time and the wall time of those transactions, per execution, on
SQLite and on PostgreSQL, beside a reference measured in the same run: one execution of the
echo flow (three steps) reported in one batch. On a shared machine the wall time varies a lot;
the CPU time of this process (the API's side of the work) and the rows much less.

Run: PYTHONPATH=src .venv/bin/python bench/report_path_foreach.py [--executions N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from runners_common import admin
from sqlalchemy import event, text

import flomation.models  # noqa: F401  (registers every table)
from flomation.db.base import Base
from flomation.db.session import Database
from flomation.engine.events import ListSink
from flomation.engine.executor import run_flow
from flomation.executions import claims, requests
from flomation.executions.reports import Report, record_reports
from flomation.flows import service as flows
from flomation.models.auth import Organization
from flomation.protocol import EVENTS, ExecutionStatus

BATCH_MAX = 500
ITEMS = 1_000

W3 = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "each", "type": "foreach", "config": {"items": "{{ input.items }}"}},
        {"id": "double", "type": "set", "config": {"values": {"v": "{{ item * 2 }}"}}},
        {
            "id": "out",
            "type": "return",
            "config": {"value": {"sum": "{{ nodes.each.output.results | sum(attribute='v') }}"}},
        },
    ],
    "edges": [
        {"from": "start", "to": "each"},
        {"from": "each", "to": "double", "port": "each"},
        {"from": "each", "to": "out", "port": "done"},
    ],
}
ECHO = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "double", "type": "set", "config": {"values": {"m": "{{ input.n * 2 }}"}}},
        {"id": "out", "type": "return", "config": {"value": {"m": "{{ nodes.double.output.m }}"}}},
    ],
    "edges": [{"from": "start", "to": "double"}, {"from": "double", "to": "out"}],
}


async def engine_events(definition: dict[str, Any], input: Any) -> tuple[list[Any], Any]:
    """The node and log events the engine emits for one run, and its output."""
    sink = ListSink()
    document = await run_flow(definition, input, sink=sink)
    assert document["status"] == "succeeded", document
    dicts = [e.to_dict() for e in sink.events]
    checked = EVENTS.validate_python(dicts)
    return checked, document["output"]


@asynccontextmanager
async def scratch(backend: str) -> AsyncIterator[Database]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            database = Database(f"sqlite:///{Path(directory) / 'bench.db'}")
            try:
                async with database.engine.begin() as connection:
                    await connection.run_sync(Base.metadata.create_all)
                yield database
            finally:
                await database.dispose()
        return
    name = f"flomation_bench_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE DATABASE "{name}"')
    from runners_common import ADMIN_DSN

    database = Database(ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}", pool_size=2)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield database
    finally:
        await database.dispose()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def one_execution(
    database: Database, organization_id: str, flow_id: str, events: list[Any], output: Any
) -> tuple[int, float, float]:
    """Report one execution of `flow_id` as a runner would: (statements, CPU s, wall s)."""
    async with database.transaction() as session:
        view = await requests.request_execution(
            session,
            organization_id=organization_id,
            flow_id=flow_id,
            input=None,
            trigger={"type": "manual"},
        )
    async with database.transaction() as session:
        [held] = await claims.claim_executions(
            session,
            organization_id=organization_id,
            runner_id="bench",
            labels={},
            limit=1,
            lease_seconds=60,
        )
    assert held.id == view.id
    batches = [events[i : i + BATCH_MAX] for i in range(0, len(events), BATCH_MAX)]
    counted: list[str] = []

    def count(*_args: Any) -> None:
        counted.append("")

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    started = time.perf_counter()
    cpu = time.process_time()
    try:
        for index, batch in enumerate(batches):
            last = index == len(batches) - 1
            report = Report(
                execution_id=held.id,
                attempt=held.attempt,
                events=batch,
                status=ExecutionStatus.SUCCEEDED if last else None,
                output=output if last else None,
            )
            async with database.transaction() as session:
                [refused] = await record_reports(session, runner_id="bench", reports=[report])
            assert refused is None, refused
    finally:
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    return len(counted), cpu, elapsed


async def stored_rows(database: Database, execution_id: str) -> str:
    """How many rows the execution left in each table of its details."""
    counts = []
    async with database.transaction() as session:
        for table in ("execution_steps", "execution_step_packs", "execution_events"):
            exists = True
            if table == "execution_step_packs":
                probe = "SELECT count(*) FROM sqlite_master WHERE name = :t"
                if database.engine.dialect.name == "postgresql":
                    probe = "SELECT count(*) FROM pg_tables WHERE tablename = :t"
                exists = bool((await session.execute(text(probe), {"t": table})).scalar())
            if exists:
                query = text(f"SELECT count(*) FROM {table} WHERE execution_id = :e")
                counts.append(str((await session.execute(query, {"e": execution_id})).scalar()))
            else:
                counts.append("-")
    return "/".join(counts)


async def measure(backend: str, executions: int) -> None:
    w3_events, w3_output = await engine_events(W3, {"items": list(range(ITEMS))})
    echo_events, echo_output = await engine_events(ECHO, {"n": 21})
    async with scratch(backend) as database:
        async with database.transaction() as session:
            organization = Organization(name="bench")
            session.add(organization)
            await session.flush()
            organization_id = organization.id
            ids = []
            for name, definition in (("w3", W3), ("echo", ECHO)):
                state = await flows.create_flow(
                    session,
                    organization_id=organization_id,
                    author_id=None,
                    name=name,
                    description="",
                    definition=definition,
                    message=None,
                )
                ids.append(state.flow.id)
        w3_id, echo_id = ids
        for label, flow_id, events, output in (
            ("W3 (1,000 iterations)", w3_id, w3_events, w3_output),
            ("echo (reference)", echo_id, echo_events, echo_output),
        ):
            runs = [
                await one_execution(database, organization_id, flow_id, events, output)
                for _ in range(executions)
            ]
            async with database.transaction() as session:
                last = await session.execute(
                    text("SELECT max(id) FROM executions WHERE flow_id = :f"), {"f": flow_id}
                )
                last_id = str(last.scalar())
            rows = await stored_rows(database, last_id)
            statements = statistics.median(n for n, _, _ in runs)
            cpu = sorted(seconds * 1000 for _, seconds, _ in runs)
            wall = sorted(seconds * 1000 for _, _, seconds in runs)
            print(
                f"{backend:10} {label:22} events {len(events):4}  statements {statements:3.0f}"
                f"  rows steps/packs/events {rows:14}  CPU ms best {cpu[0]:6.1f}"
                f"  wall ms best {wall[0]:6.1f} median {statistics.median(wall):6.1f}"
            )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--executions", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    arguments = parser.parse_args()
    for backend in arguments.backend or ("sqlite", "postgresql"):
        await measure(backend, arguments.executions)


if __name__ == "__main__":
    asyncio.run(main())
