"""Shapes of the runner tokens, the runners list and the runner protocol's bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LABEL_KEY = re.compile(r"^[A-Za-z0-9_.\-/]{1,63}$")
MAX_LABELS = 32
MAX_LABEL_VALUE = 200


def check_labels(value: dict[str, str]) -> dict[str, str]:
    """Labels are a small map of short keys to short string values."""
    if len(value) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    for key, item in value.items():
        if not LABEL_KEY.match(key):
            raise ValueError(f"label key {key!r} must match {LABEL_KEY.pattern}")
        if len(item) > MAX_LABEL_VALUE:
            raise ValueError(f"label {key!r} is longer than {MAX_LABEL_VALUE} characters")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- admin side


class RunnerTokenCreate(_Strict):
    name: str = Field(min_length=1, max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)
    expires_at: datetime | None = None

    _labels = field_validator("labels")(check_labels)

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expires_at needs a timezone (RFC 3339, e.g. 2030-01-01T00:00:00Z)")
        return value


class RunnerTokenCreated(BaseModel):
    id: str
    name: str
    labels: dict[str, str]
    expires_at: str | None
    token: str = Field(description="The secret, shown this once")


class RunnerTokenItem(BaseModel):
    id: str
    name: str
    labels: dict[str, str]
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class RunnerTokenList(BaseModel):
    items: list[RunnerTokenItem]
    next_cursor: str | None


class RunnerItem(BaseModel):
    id: str
    name: str
    labels: dict[str, str]
    status: Literal["online", "offline"]
    max_concurrent_executors: int
    running: int
    last_seen_at: str | None
    registered_at: str | None
    version: str


class RunnerList(BaseModel):
    items: list[RunnerItem]
    next_cursor: str | None


# --------------------------------------------------------------------------- runner protocol


class RegisterRequest(_Strict):
    token: str | None = Field(
        default=None, description="The runner token (or send it as 'Authorization: Bearer')"
    )
    name: str = Field(min_length=1, max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)
    max_concurrent_executors: int = Field(ge=1, le=1000)
    public_key: str = Field(min_length=40, max_length=64, description="Ed25519, base64")
    version: str = Field(min_length=1, max_length=64)

    _labels = field_validator("labels")(check_labels)


class RegisterResponse(BaseModel):
    runner_id: str
    organization_id: str
    name: str
    labels: dict[str, str]
    api_public_key: str
    lease_seconds: float
    heartbeat_interval_s: float
    claim_wait_seconds: float
    signature_max_skew_seconds: float
    max_subflow_depth: int


class HeldExecution(_Strict):
    execution_id: str = Field(min_length=1, max_length=64)
    attempt: int = Field(ge=1)


class ClaimRequest(_Strict):
    free_slots: int = Field(ge=0, le=1000)
    wait_s: float | None = Field(default=None, ge=0)
    held: list[HeldExecution] = Field(default_factory=list, max_length=5000)


class ClaimResponse(BaseModel):
    executions: list[dict[str, Any]]
    cancel: list[str]
    lost: list[str]


class HeartbeatRequest(_Strict):
    held: list[HeldExecution] = Field(default_factory=list, max_length=5000)
    running: int = Field(default=0, ge=0)


class HeartbeatResponse(BaseModel):
    renewed: list[str]
    cancel: list[str]
    lost: list[str]


class Completion(_Strict):
    status: Literal["succeeded", "failed", "cancelled", "timed_out"]
    output: Any = None
    error: dict[str, Any] | None = None


class ReportItem(_Strict):
    execution_id: str = Field(min_length=1, max_length=64)
    attempt: int = Field(ge=1)
    events: list[dict[str, Any]] = Field(default_factory=list)
    complete: Completion | None = None


class ReportRequest(_Strict):
    items: list[ReportItem] = Field(max_length=1000)


class ReportResult(BaseModel):
    execution_id: str
    attempt: int
    result: Literal["ok", "stale", "not_found", "rejected"]
    detail: str | None = None


class ReportResponse(BaseModel):
    results: list[ReportResult]


class CompleteRequest(ReportItem):
    """One execution's last events and its end, in one request."""

    complete: Completion


class ReleaseRequest(_Strict):
    executions: list[HeldExecution] = Field(max_length=5000)


class GoodbyeRequest(_Strict):
    """A runner's last call at a clean shutdown; nothing to say but that it goes."""


class SubflowRequest(_Strict):
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
    status: str
    ended: bool
    output: Any = None
    error: dict[str, Any] | None = None
