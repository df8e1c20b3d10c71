"""The one writer and reader of RFC 3339 times (UTC with a `Z`, as the API spec asks) for the
API, the engine's events, the runner, Launch and the logs. The current time comes from
`flomation.clock`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

__all__ = ["isoformat"]


@overload
def isoformat(value: datetime) -> str: ...


@overload
def isoformat(value: None) -> None: ...


@overload
def isoformat(value: datetime | None) -> str | None: ...


def isoformat(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`; None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def format_timestamp(timestamp: float) -> str:
    """A POSIX time (`time.time()`) in RFC 3339, UTC with a `Z`."""
    return isoformat(datetime.fromtimestamp(timestamp, UTC))


def parse_rfc3339(text: str) -> datetime:
    """The aware datetime `text` writes (`Z` or an offset); ValueError when it is not an ISO
    8601 time or has no offset, which RFC 3339 requires."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"no UTC offset in {text[:40]!r}")
    return parsed
