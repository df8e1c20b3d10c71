"""The engine's events, on their way to the API.

The API folds the engine's own events (`ExecutionEvent.to_dict()`) into steps and logs, so the
runner forwards them as they are, in order, through the batching reporter. The execution's own
start and end are not forwarded: the claim and the completion carry those.
"""

from __future__ import annotations

from flomation.engine.events import ExecutionEvent
from flomation.protocol import EventKind
from flomation.runner.reporter import Reporter

_NOT_FORWARDED = frozenset({EventKind.EXECUTION_STARTED, EventKind.EXECUTION_FINISHED})


class ReportingSink:
    """An engine `EventSink` that feeds one execution attempt's events to the reporter."""

    def __init__(self, reporter: Reporter, execution_id: str, attempt: int) -> None:
        self._reporter = reporter
        self._execution_id = execution_id
        self._attempt = attempt
        self.closed = False

    async def emit(self, event: ExecutionEvent) -> None:
        if self.closed or event.kind in _NOT_FORWARDED:
            return
        self._reporter.add_event(self._execution_id, self._attempt, event.to_dict())
