"""Subflow nodes: the runner asks the API to queue a child execution and waits for its end."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flomation.protocol.base import Strict
from flomation.protocol.statuses import ExecutionStatus


class SubflowRequest(Strict):
    parent_execution_id: str = Field(min_length=1, max_length=64)
    parent_attempt: int = Field(ge=1)
    node_id: str = Field(min_length=1, max_length=64)
    flow_id: str = Field(min_length=1, max_length=64)
    input: Any = None
    request_key: str = Field(
        min_length=1,
        max_length=100,
        description="Chosen by the runner per node attempt: a retried request starts no "
        "second child",
    )


class SubflowStarted(BaseModel):
    execution_id: str
    depth: int


class SubflowState(BaseModel):
    execution_id: str
    status: ExecutionStatus
    ended: bool
    output: Any = None
    error: dict[str, Any] | None = None
