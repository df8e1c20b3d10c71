"""Triggers (schedule, webhook, s3, git, form) with their firing state and lease, and the Launch
instances that share them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flomation.clock import utcnow
from flomation.db.base import Base, IdColumn
from flomation.ids import new_id


class Trigger(Base):
    """One trigger of a flow.

    The triggers domain reads its flow through the flows service. `webhook_path` is unique
    across all organisations because webhook URLs are one namespace; a form trigger's path is
    kept there too as `form:{path}` (':' never appears in a webhook path). `state_version`
    grows with every change of the firing state so that a Launch instance acting on a stale
    read is refused.
    """

    __tablename__ = "triggers"
    __table_args__ = (
        Index("ix_triggers_lease", "enabled", "lease_expires_at"),
        Index("ix_triggers_owner_next", "lease_owner", "next_fire_at"),
    )

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column()
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    webhook_path: Mapped[str | None] = mapped_column(String(300), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Firing state.
    cursor: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    next_fire_at: Mapped[datetime | None] = mapped_column(default=None)
    last_fired_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    state_version: Mapped[int] = mapped_column(Integer, default=0)

    # Lease: which Launch instance runs this trigger, until when (database clock).
    lease_owner: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)


class LaunchInstance(Base):
    """A running Launch process, seen through its heartbeat; used to share triggers fairly."""

    __tablename__ = "launch_instances"

    owner: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
