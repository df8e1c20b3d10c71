"""Flows and their immutable revisions.

A flow row holds what changes without a new revision (name, description, concurrency limit,
what its executions keep, archival) and the number of its current revision; every save of the
definition is a new `flow_revisions` row that is never updated. `flows.current_revision` only
moves through a conditional update (`WHERE current_revision = <base>`), and
`(flow_id, revision)` is the revision table's primary key, so two saves on the same base can
never both win.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flomation.clock import utcnow
from flomation.db.base import Base, IdColumn, JSONValue
from flomation.ids import new_id

# What the API keeps of a flow's executions (the engine runs the same either way): `all` their
# steps and logs, `errors` them only when an execution did not succeed, `none` only summaries.
SaveData = Literal["all", "errors", "none"]


class Flow(Base):
    __tablename__ = "flows"
    __table_args__ = (
        # The list is per organisation, newest first (ids are time-ordered UUIDv7).
        Index("ix_flows_organization_id_id", "organization_id", "id"),
    )

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    current_revision: Mapped[int] = mapped_column(Integer)
    max_concurrent_executions: Mapped[int | None] = mapped_column(Integer, default=None)
    # What executions keep (`all`, `errors`, `none`; see docs/flow-settings.md); None: the
    # organisation's default. Read when an execution reports, so a change applies at once.
    save_data: Mapped[str | None] = mapped_column(String(10), default=None)
    # The current definition's `runs_on` labels, copied here so the queue can match runners
    # without reading revisions.
    runs_on: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    # A user id, deliberately not a foreign key: history keeps naming a user who was deleted.
    created_by: Mapped[str | None] = mapped_column(IdColumn, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)


class FlowRevision(Base):
    """One saved definition. Immutable: the repository has no update path for it."""

    __tablename__ = "flow_revisions"

    flow_id: Mapped[str] = mapped_column(
        ForeignKey("flows.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    # SHA-256 (hex) of the definition's canonical JSON: equal definitions, equal hashes.
    content_hash: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
