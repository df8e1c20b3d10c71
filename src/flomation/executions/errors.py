"""Errors of the executions domain that callers catch by type."""

from __future__ import annotations

from flomation.errors import Conflict


class DuplicateExecution(Conflict):
    """An execution with this dedupe key already exists in the organisation; nothing changed."""

    title = "Duplicate execution"
    type_slug = "duplicate-execution"

    def __init__(self, execution_id: str, dedupe_key: str) -> None:
        super().__init__(
            f"An execution with dedupe key {dedupe_key!r} already exists",
            extra={"execution_id": execution_id},
        )
        self.execution_id = execution_id
        self.dedupe_key = dedupe_key


class StaleAttempt(Conflict):
    """A runner spoke about an execution it no longer holds (another attempt took over, it
    ended, or it was requeued); nothing was changed."""

    title = "Stale attempt"
    type_slug = "stale-attempt"

    def __init__(self, execution_id: str, attempt: int) -> None:
        super().__init__(
            f"Attempt {attempt} of execution {execution_id} no longer holds it; its result "
            "was refused",
            extra={"execution_id": execution_id, "attempt": attempt},
        )
        self.execution_id = execution_id
        self.attempt = attempt
