"""Shapes of the runner tokens and the runners list. The runner protocol's bodies are in
`flomation.protocol`, shared with the runner."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from flomation.protocol import Strict, check_labels

# --------------------------------------------------------------------------- admin side


class RunnerTokenCreate(Strict):
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
