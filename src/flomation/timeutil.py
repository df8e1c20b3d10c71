"""Time formatting for the application side. The current time comes from `flomation.clock`."""

from __future__ import annotations

from datetime import UTC, datetime

from flomation.clock import utcnow

# The executions domain still imports the current time from here.
__all__ = ["isoformat", "utcnow"]


def isoformat(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as the API spec asks."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
