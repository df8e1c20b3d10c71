"""The status vocabulary: every status the database holds, and which are final."""

from __future__ import annotations

from flomation.models import executions as rows
from flomation.protocol import FINAL_STATUSES, ExecutionStatus


def test_the_statuses_are_the_ones_the_tables_hold() -> None:
    stored = {ExecutionStatus.QUEUED, ExecutionStatus.RUNNING, *rows.FINAL_STATUSES}
    assert {status.value for status in ExecutionStatus} == stored
    assert {status.value for status in FINAL_STATUSES} == set(rows.FINAL_STATUSES)
    assert ExecutionStatus.TIMED_OUT.final
    assert not ExecutionStatus.RUNNING.final
