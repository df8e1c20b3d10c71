"""Runner tokens, registered runners, and the nonces that stop a signed request being replayed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flomation.clock import utcnow
from flomation.db.base import Base, IdColumn, JSONValue
from flomation.ids import new_id


class RunnerToken(Base):
    """A registration token. Only the SHA-256 of the secret is kept; its labels are imposed on
    every runner that registers with it."""

    __tablename__ = "runner_tokens"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    labels: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    created_by: Mapped[str | None] = mapped_column(IdColumn, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class Runner(Base):
    """A registered runner process: its public key, labels and liveness.

    A deleted runner keeps its row (executions name it) with `deleted_at` set, and every
    request it signs is refused; so does a runner that stopped (`stopped_at`).
    """

    __tablename__ = "runners"
    __table_args__ = (
        Index("ix_runners_organization_id_deleted_at", "organization_id", "deleted_at"),
    )

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    token_id: Mapped[str | None] = mapped_column(
        ForeignKey("runner_tokens.id", ondelete="SET NULL"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    public_key: Mapped[str] = mapped_column(String(64))
    max_concurrent_executors: Mapped[int] = mapped_column(Integer)
    running: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Said goodbye at a clean shutdown: offline at once, and every later request it signs is
    # refused (a restart registers a new runner).
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class RunnerNonce(Base):
    """A nonce seen in a signed request, kept until it is older than the allowed clock skew
    (an older request is refused as stale anyway). The unique constraint is the replay check
    shared by every API process."""

    __tablename__ = "runner_nonces"
    __table_args__ = (UniqueConstraint("runner_id", "nonce"),)

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    runner_id: Mapped[str] = mapped_column(ForeignKey("runners.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(index=True)
