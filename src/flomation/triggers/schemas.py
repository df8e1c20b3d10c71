"""Request and response shapes of the triggers API, and the views services hand to Launch."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flomation.protocol.statuses import ExecutionStatus
from flomation.triggers.config import TriggerConfig, TriggerType


class TriggerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        description="schedule, webhook, s3, git, form, amqp, redis_stream, postgres_notify, "
        "nats or mqtt"
    )
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class TriggerUpdate(BaseModel):
    """A partial update: `config` replaces the whole config (validated again); the type of a
    trigger never changes."""

    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any] | None = None
    enabled: bool | None = None


class TriggerState(BaseModel):
    last_fired_at: datetime | None
    next_fire_at: datetime | None
    cursor: dict[str, Any] | None
    owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    error_count: int
    # Event triggers only (null for the others): whether the trigger is taking events, when it
    # last saw one, and how many it took and rejected in all (integrations.md "Event triggers").
    healthy: bool | None = None
    last_event_at: datetime | None = None
    events_total: int | None = None
    rejected_total: int | None = None


class TriggerOut(BaseModel):
    id: str
    flow_id: str
    type: TriggerType
    config: dict[str, Any]
    enabled: bool
    public: bool = Field(
        description="a webhook that anyone may call (no token, no HMAC); every form is public"
    )
    hook_url_path: str | None = Field(
        description="where a webhook trigger listens, or where a form trigger's page is served"
    )
    created_at: datetime
    updated_at: datetime
    state: TriggerState


class TriggerList(BaseModel):
    items: list[TriggerOut]
    next_cursor: str | None


class WebhookAccepted(BaseModel):
    execution_id: str


@dataclass(frozen=True)
class TriggerWork:
    """A trigger held by a Launch instance and due now, as read at the start of a pass."""

    id: str
    organization_id: str
    flow_id: str
    type: str
    config: TriggerConfig
    cursor: dict[str, Any] | None
    next_fire_at: datetime | None
    error_count: int
    state_version: int
    # For event triggers: when the trigger was created (a consumer starts from what arrives
    # after it) and last edited (an edit restarts its consumer).
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class EventResult:
    """What committing one event did: the execution started (None when the flow refused the
    input, `refused` then says why), whether it existed already (a redelivery), and the
    trigger's state version after it."""

    execution_id: str | None
    duplicate: bool
    refused: str | None
    stopped: bool
    state_version: int
    cursor: dict[str, Any]


@dataclass(frozen=True)
class Fire:
    """One execution to start: its input, the trigger data and the key that makes it unique."""

    input: dict[str, Any]
    dedupe_key: str
    trigger_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What one pass of a source decided for one trigger, applied in one fenced transaction."""

    cursor: dict[str, Any] | None
    next_fire_at: datetime | None
    fires: list[Fire] = field(default_factory=list)
    fired_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class Applied:
    """The result of applying an outcome: the executions started (or found already started),
    and the trigger's state version after it (a next batch in the same pass fences on it)."""

    execution_ids: list[str]
    duplicates: int
    refused: list[str]
    state_version: int


@dataclass(frozen=True)
class WebhookTarget:
    id: str
    organization_id: str
    flow_id: str
    enabled: bool
    config: Any


@dataclass(frozen=True)
class ExecutionState:
    """Where a fired execution is, with its output or error once it has ended."""

    id: str
    status: ExecutionStatus
    output: Any
    error: Any

    @property
    def ended(self) -> bool:
        return self.status.final
