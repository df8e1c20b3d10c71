"""Report batches: an item whose events or end do not match is refused alone; an item that
does not even name its execution and attempt refuses the batch."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flomation.protocol import (
    Completion,
    ExecutionStatus,
    RefusedItem,
    ReportItem,
    ReportRequest,
    describe,
)

AT = "2026-01-01T00:00:00Z"
LOG = {"seq": 1, "kind": "log", "at": AT, "node_id": None, "level": "info", "message": "hi"}


def test_a_batch_round_trips_through_json() -> None:
    batch = ReportRequest.model_validate(
        {
            "items": [
                {"execution_id": "e1", "attempt": 1, "events": [LOG]},
                {"execution_id": "e2", "attempt": 2, "complete": {"status": "timed_out"}},
            ]
        }
    )
    assert ReportRequest.model_validate_json(batch.model_dump_json()) == batch
    [first, second] = batch.items
    assert isinstance(first, ReportItem)
    assert first.events[0].kind == "log"
    assert isinstance(second, ReportItem)
    assert second.complete == Completion(status=ExecutionStatus.TIMED_OUT)


def test_a_malformed_item_is_refused_alone_saying_where() -> None:
    batch = ReportRequest.model_validate(
        {
            "items": [
                {"execution_id": "bad", "attempt": 3, "events": [{**LOG, "kind": "lg"}]},
                {"execution_id": "good", "attempt": 1, "events": [LOG]},
                {"execution_id": "end", "attempt": 1, "complete": {"status": "running"}},
            ]
        }
    )
    bad, good, end = batch.items
    assert isinstance(bad, RefusedItem)
    assert (bad.execution_id, bad.attempt) == ("bad", 3)
    assert bad.detail.startswith("events.0: ")
    assert "'lg'" in bad.detail
    assert isinstance(good, ReportItem)
    assert isinstance(end, RefusedItem)
    assert end.detail.startswith("complete.status: ")  # running is not an end


def test_an_item_without_its_attempt_refuses_the_batch() -> None:
    with pytest.raises(ValidationError) as refused:
        ReportRequest.model_validate({"items": [{"execution_id": "x", "events": []}]})
    assert describe(refused.value).startswith("items.0.attempt:")


def test_the_documented_item_is_the_report_item() -> None:
    schema = ReportRequest.model_json_schema()
    assert schema["properties"]["items"]["items"] == {"$ref": "#/$defs/ReportItem"}
    assert "RefusedItem" not in schema["$defs"]
