"""Connections: typed credentials with their settings, encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flomation.clock import utcnow
from flomation.db.base import Base


class Connection(Base):
    """A connection's values are never stored in clear: `ciphertext` is AES-256-GCM of the
    values as UTF-8 JSON (secret and plain fields alike, so nothing of them shows in a dump),
    with a random 96-bit `nonce` and the organisation id and `connection:<name>` as associated
    data (a connection's ciphertext does not open as a secret's, nor the other way round);
    `key_version` counts the key rotations it went through. `type` names its
    `ConnectionType`; `status` is `ok` or `needs_reconnect`."""

    __tablename__ = "connections"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(32), default="ok")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_tested_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
