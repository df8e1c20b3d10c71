"""A runner side task (reporting, heartbeats) that fails is restarted with backoff; one that
keeps failing stops the runner with exit status 3, so that its supervisor starts a fresh
process: never a runner that looks online but no longer works."""

from __future__ import annotations

import asyncio

import pytest

from flomation.runner.config import RunnerSettings
from flomation.runner.process import EXIT_FAILED, EXIT_OK, SIDE_TASK_MAX_FAILURES, Runner


def quick_runner() -> Runner:
    settings = RunnerSettings(
        api="http://127.0.0.1:9", token="flo_r_test", backoff_initial_s=0.01, backoff_max_s=0.02
    )
    return Runner(settings)


async def test_a_side_task_that_fails_is_restarted_and_the_runner_goes_on() -> None:
    runner = quick_runner()
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs) + 1)
        if len(runs) < 3:
            raise RuntimeError("a bug in a side task")

    await asyncio.wait_for(runner._supervised("reporter", flaky), 5)
    assert runs == [1, 2, 3]
    assert not runner._stop.is_set()
    assert runner._exit_status == EXIT_OK
    failures = runner.metrics.side_task_failures.labels("reporter")._value.get()
    assert failures == 2


async def test_a_side_task_that_keeps_failing_stops_the_runner_with_status_3(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = quick_runner()
    runs: list[int] = []

    async def broken() -> None:
        runs.append(1)
        raise TypeError("Object of type FlowUndefined is not JSON serializable")

    await asyncio.wait_for(runner._supervised("reporter", broken), 5)
    assert len(runs) == SIDE_TASK_MAX_FAILURES
    assert runner._stop.is_set()  # the claim loop ends, the process exits
    assert runner._exit_status == EXIT_FAILED == 3
    assert "fresh runner process" in caplog.text
