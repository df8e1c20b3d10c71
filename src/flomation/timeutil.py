"""Time formatting for the application side. The current time comes from `flomation.clock`."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["isoformat"]


def isoformat(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as the API spec asks."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
