"""The application's clock, and the offset that lets tests make time pass without sleeping.

Leases, deadlines and timeouts are kept on the database's clock (`flomation.db.clock`), so
that hosts whose clocks disagree still agree on them; what this side reads as "now" (row
stamps, the time left before a deadline, when a webhook fired) comes from `utcnow()`. Both add
this process's offset, so the two clocks move together: a test that advances the offset sees a
lease run out at once, on both sides. The offset is zero unless a test moves it.

Launch reads the time through a `Clock` it is given: `SystemClock` in service, a
`ManualClock` in tests that jump across days, DST changes and outages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

_offset_s = 0.0


def offset_s() -> float:
    """Seconds this process's clocks run ahead of the real time (0 outside tests)."""
    return _offset_s


def set_offset_s(seconds: float) -> None:
    """Move this process's clocks, the database's as this process's statements read it
    included. Statements read the offset when they run, so a cached statement sees a new one."""
    global _offset_s
    _offset_s = float(seconds)


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    now = datetime.now(UTC)
    return now + timedelta(seconds=_offset_s) if _offset_s else now


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        self._now = value

    def advance(self, seconds: float) -> None:
        self._now = self._now + timedelta(seconds=seconds)
