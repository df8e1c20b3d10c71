"""Wall-clock helpers for the application side. Leases and deadlines use the database clock
(`flomation.db.clock`) instead."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as the API spec asks."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
