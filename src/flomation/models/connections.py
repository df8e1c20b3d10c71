"""Connections: typed credentials with their settings, encrypted at rest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flomation.clock import utcnow
from flomation.db.base import Base, IdColumn, JSONValue
from flomation.ids import new_id


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
    # OAuth 2 (see `connections.oauth`): when the access token held in the values runs out,
    # None for other connections and for a token that did not say (`expires_in` absent).
    token_expires_at: Mapped[datetime | None] = mapped_column(default=None)


class ConnectionProbe(Base):
    """A request to test a connection on a runner (`POST /connections/{name}/test`): runners
    that claim work take pending ones whose `runs_on` their labels cover, run the type's probe
    and post the result. Short-lived: the API waits at most 15 s for it."""

    __tablename__ = "connection_probes"
    __table_args__ = (
        Index("ix_connection_probes_organization_id_status", "organization_id", "status"),
    )

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    connection_name: Mapped[str] = mapped_column(String(64))
    runs_on: Mapped[dict[str, Any]] = mapped_column(JSONValue, default=dict)
    # pending -> running (a runner took it) -> done; expired when nobody answered in time.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    runner_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)


# --------------------------------------------------------------------------- OAuth 2


class OAuthState(Base):
    """An authorization code flow that a user started (`GET .../oauth/start`) and the
    provider's redirect to `/oauth/callback` ends. Single-use (the callback deletes it),
    expiring, bound to the organisation and connection, and to the browser that started it
    (`browser_hash`: SHA-256 of a cookie set at the start, so a callback opened in another
    browser, an attacker's login CSRF, is refused). The row is found by the SHA-256 of the
    `state` sent to the provider; the state itself is never stored. `code_verifier` is the
    PKCE secret the token request proves the flow with."""

    __tablename__ = "oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    connection_name: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(IdColumn, default=None)
    browser_hash: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
