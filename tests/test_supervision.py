"""`flomation.supervision.supervise`: the parts of `flomation up` (its local runner, Launch)
are started again, ever more slowly, whenever they end or fail while the whole runs."""

from __future__ import annotations

import asyncio
import logging

import pytest

from flomation.backoff import Backoff
from flomation.supervision import supervise


async def test_a_part_that_keeps_ending_or_failing_is_restarted_with_backoff_until_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    runs: list[float] = []
    loop = asyncio.get_running_loop()

    async def part() -> str:
        runs.append(loop.time())
        if len(runs) == 5:
            stop.set()
            return "stopped with the whole"
        if len(runs) % 2:
            raise RuntimeError("a bug in the part")
        return "exit status -9"

    backoff = Backoff(initial_s=0.01, max_s=0.04)
    with caplog.at_level(logging.WARNING, logger="flomation.supervision"):
        await asyncio.wait_for(supervise("the part", part, stop, backoff=backoff), timeout=10)

    assert len(runs) == 5
    restarts = [r.getMessage() for r in caplog.records if "restart" in r.getMessage()]
    assert len(restarts) == 4  # the fifth run ended because of the stop: no restart
    assert restarts[0].startswith("the part ended (failed: RuntimeError('a bug in the part'))")
    assert restarts[1].startswith("the part ended (exit status -9); restart 2 in ")
    assert backoff.failures == 4  # each restart waited a growing delay


async def test_stop_during_the_backoff_ends_supervision_at_once() -> None:
    stop = asyncio.Event()
    runs = 0

    async def part() -> str:
        nonlocal runs
        runs += 1
        return "ended"

    task = asyncio.create_task(
        supervise("the part", part, stop, backoff=Backoff(initial_s=60.0, max_s=60.0))
    )
    await asyncio.sleep(0.05)  # it ran once and waits ~30-60 s before the restart
    stop.set()
    await asyncio.wait_for(task, timeout=2)
    assert runs == 1


async def test_a_part_that_ran_healthy_restarts_quickly_again() -> None:
    stop = asyncio.Event()
    backoff = Backoff(initial_s=0.01, max_s=0.01)
    backoff.failures = 10  # it had been failing
    runs = 0

    async def part() -> str:
        nonlocal runs
        runs += 1
        if runs == 2:
            stop.set()
        return "ended"

    await asyncio.wait_for(
        supervise("the part", part, stop, backoff=backoff, healthy_after_s=0.0), timeout=5
    )
    assert backoff.failures == 1  # reset after the healthy run, then one restart
