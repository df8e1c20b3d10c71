"""Reporting: events and ends of executions, several in one batch, each item fenced by its
attempt and answered on its own."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, WrapValidator

from flomation.protocol.base import Strict
from flomation.protocol.events import Event
from flomation.protocol.leases import HeldExecution
from flomation.protocol.statuses import ExecutionStatus

FinalStatus = Literal[
    ExecutionStatus.SUCCEEDED,
    ExecutionStatus.FAILED,
    ExecutionStatus.CANCELLED,
    ExecutionStatus.TIMED_OUT,
]
Verdict = Literal["ok", "stale", "not_found", "rejected"]


class Completion(Strict):
    status: FinalStatus
    output: Any = None
    error: dict[str, Any] | None = None


class ReportItem(Strict):
    execution_id: str = Field(min_length=1, max_length=64)
    attempt: int = Field(ge=1)
    events: list[Event] = Field(default_factory=list)
    complete: Completion | None = None


class RefusedItem(BaseModel):
    """A batch item that does not match `ReportItem`: refused alone (`rejected`), so that one
    execution's malformed report never sinks the others of the batch."""

    execution_id: str
    attempt: int
    detail: str


def describe(error: ValidationError, *, limit: int = 5) -> str:
    """Pydantic's errors in one line, each with where it is (`events.0.node.started.step`)."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '(item)'}: {item['msg']}"
        for item in error.errors(include_url=False)
    ]
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + more


def _item_or_refusal(value: Any, _handler: Any) -> ReportItem | RefusedItem:
    # Not `_handler`: that would try the value as a RefusedItem too.
    if isinstance(value, ReportItem | RefusedItem):
        return value
    try:
        return ReportItem.model_validate(value)
    except ValidationError as refused:
        # An item that does not even say which attempt it is about cannot be answered alone:
        # this raises, and the whole batch is refused.
        held = HeldExecution.model_validate(
            {key: value.get(key) for key in ("execution_id", "attempt")}
            if isinstance(value, dict)
            else value
        )
        return RefusedItem(
            execution_id=held.execution_id, attempt=held.attempt, detail=describe(refused)
        )


# Documented as a `ReportItem`; checked item by item.
BatchItem = Annotated[
    ReportItem | RefusedItem,
    WrapValidator(_item_or_refusal, json_schema_input_type=ReportItem),
]


class ReportRequest(Strict):
    items: list[BatchItem] = Field(max_length=1000)


class CompleteRequest(ReportItem):
    """One execution's last events and its end, in one request."""

    complete: Completion


class ReportResult(BaseModel):
    execution_id: str
    attempt: int
    result: Verdict
    detail: str | None = None


class ReportResponse(BaseModel):
    results: list[ReportResult]
