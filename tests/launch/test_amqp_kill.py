"""kill -9 of the `flomation launch` process consuming an AMQP trigger: its lease moves to the
other process, the broker hands back what it had not acknowledged, and every message sent is
executed exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import aio_pika
import pytest

from flomation.config import Settings
from flomation.db.session import Database
from tests.conftest import TEST_SECRET_KEY
from tests.launch.events import count_executions, event_trigger, eventually, inputs, unique
from tests.triggers.factories import trigger_rows

LEASE_S = 3.0
MESSAGES = 60
URL = "amqp://guest:guest@127.0.0.1:5672/"
CONNECTION = {"url": "amqp://guest@127.0.0.1:5672/", "password": "guest"}
pytestmark = [
    pytest.mark.alone,
    pytest.mark.postgres_only,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


def _start(database_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(data_dir),
        "FLOMATION_DATABASE_URL": database_url,
        "FLOMATION_SECRET_KEY": TEST_SECRET_KEY,
        "FLOMATION_DATA_DIR": str(data_dir),
        "FLOMATION_TRIGGER_LEASE_SECONDS": str(LEASE_S),
        "FLOMATION_LAUNCH_EGRESS_POLICY": "self_hosted",
        "FLOMATION_LOG_LEVEL": "WARNING",
    }
    if "PYTHONPATH" in os.environ:  # a worktree's sources before the installed package
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    data_dir.mkdir(parents=True)
    with (data_dir / "stderr.log").open("wb") as log:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "flomation"), "launch"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


async def test_a_killed_consumer_loses_and_doubles_nothing(
    database: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    queue = unique("flomation-kill")
    await channel.declare_queue(queue, arguments={"x-expires": 120_000})
    trig = await event_trigger(database, settings, "amqp", "amqp", CONNECTION, {"queue": queue})
    processes = [_start(database_url, tmp_path / f"launch-{i}") for i in range(2)]

    async def publish(start: int, stop: int) -> None:
        for n in range(start, stop):
            await channel.default_exchange.publish(
                aio_pika.Message(b"%d" % n, message_id=f"k{n}"), routing_key=queue
            )

    async def owner_pid() -> int | None:
        [row] = [r for r in await trigger_rows(database) if r.id == trig.trigger_id]
        return int(row.lease_owner.split(":")[1]) if row.lease_owner else None

    async def executed(count: int) -> bool:
        return await count_executions(database, trig.organization_id) >= count

    try:

        async def owned() -> bool:
            return await owner_pid() is not None

        await eventually(owned, timeout_s=60)
        await publish(0, MESSAGES // 2)
        await eventually(lambda: executed(5), timeout_s=60)
        victim_pid = await owner_pid()
        victim = next(p for p in processes if p.pid == victim_pid)
        # Mid-stream: some executed, some held unacknowledged, some still in the queue.
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        await publish(MESSAGES // 2, MESSAGES)
        await eventually(lambda: executed(MESSAGES), timeout_s=60)
        survivor = next(p for p in processes if p is not victim)
        assert await owner_pid() == survivor.pid
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    declared = await channel.declare_queue(queue, passive=True)
    assert declared.declaration_result.message_count == 0
    await connection.close()
    bodies = sorted(row["body"] for row in await inputs(database, trig.organization_id))
    assert bodies == list(range(MESSAGES))  # each exactly once
