"""Launch's notion of the current time, injectable so tests can jump it (DST, outages)
without sleeping. Leases never use it: they run on the database clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from flomation.timeutil import utcnow


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
