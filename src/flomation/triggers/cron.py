"""Cron schedules in a time zone, with well-defined behaviour across DST changes.

The expression is matched against local wall-clock time, then each match is mapped to a UTC
instant:
- a wall time that does not exist (spring forward, e.g. 02:30 in Europe/Berlin on the last
  Sunday of March) is shifted forward to the first instant after the gap (03:00 local); several
  matches falling into the same gap therefore fire once;
- a wall time that happens twice (fall back) fires once, at its first occurrence.
The instants returned are strictly increasing, so no slot is ever produced twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from flomation.timeutil import isoformat

# Bound on the wall-clock matches examined per instant (a per-second schedule inside a repeated
# hour skips up to 3600 matches that map before the previous instant).
_MAX_SCAN = 10_000


def _to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall time: the first occurrence of an ambiguous one,
    the end of the gap for one that does not exist."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=1 maps with the offset after the change, fold=0 with the one before; the
    # transition lies between the two instants. Find it by bisection (to the second).
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    after_offset = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


class CronSchedule:
    """A cron expression (5 fields, or 6 with seconds first) in an IANA time zone."""

    def __init__(self, expression: str, timezone: str = "UTC") -> None:
        self.expression = " ".join(expression.split())
        self.zone = ZoneInfo(timezone)
        self.has_seconds = len(self.expression.split(" ")) == 6

    def _walls(self, wall: datetime, *, backwards: bool = False) -> Iterator[datetime]:
        it = croniter(
            self.expression, wall, is_prev=backwards, second_at_beginning=self.has_seconds
        )
        while True:
            yield it.get_prev(datetime) if backwards else it.get_next(datetime)

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)

    def next_after(self, instant: datetime) -> datetime:
        """The first slot strictly after `instant` (a tz-aware datetime), in UTC.

        Wall times up to the wall time of `instant` always map to instants up to `instant`
        (the mapping is monotonic), so the scan starts there; matches inside a repeated hour
        that map before `instant` are passed over.
        """
        instant = instant.astimezone(UTC)
        for scanned, wall in enumerate(self._walls(self._wall(instant))):
            candidate = _to_instant(wall, self.zone)
            if candidate > instant:
                return candidate
            if scanned > _MAX_SCAN:
                break
        raise ValueError(f"no slot of '{self.expression}' found after {isoformat(instant)}")

    def latest_slots(self, after: datetime, until: datetime, *, limit: int) -> list[datetime]:
        """The latest `limit` slots s with after < s <= until, oldest first.

        Walks backwards from `until`, so a long outage of a frequent schedule costs `limit`
        steps, not one per missed slot.
        """
        after, until = after.astimezone(UTC), until.astimezone(UTC)
        slots: list[datetime] = []
        start = self._wall(until) + timedelta(seconds=1)
        for scanned, wall in enumerate(self._walls(start, backwards=True)):
            candidate = _to_instant(wall, self.zone)
            if candidate <= after or len(slots) >= limit:
                break
            if candidate <= until and (not slots or candidate < slots[-1]):
                slots.append(candidate)
            if scanned > _MAX_SCAN + limit:
                break
        slots.reverse()
        return slots
