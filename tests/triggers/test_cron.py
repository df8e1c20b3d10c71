"""Cron slots in a time zone across DST changes: a missing wall time fires once at the end of
the gap, a repeated one fires once; slots only ever move forward."""

from __future__ import annotations

from datetime import UTC, datetime

from flomation.triggers.cron import CronSchedule


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def _series(schedule: CronSchedule, start: datetime, count: int) -> list[datetime]:
    slots, current = [], start
    for _ in range(count):
        current = schedule.next_after(current)
        slots.append(current)
    return slots


def test_daily_slot_follows_local_time_across_spring_forward_in_berlin() -> None:
    schedule = CronSchedule("0 9 * * *", "Europe/Berlin")
    slots = _series(schedule, _utc(2026, 3, 28, 12), 2)
    # 09:00 CET is 08:00 UTC, 09:00 CEST (from 29 March) is 07:00 UTC.
    assert slots == [_utc(2026, 3, 29, 7), _utc(2026, 3, 30, 7)]


def test_a_wall_time_that_does_not_exist_fires_once_at_the_end_of_the_gap() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026 (02:00 CET -> 03:00 CEST).
    daily = CronSchedule("30 2 * * *", "Europe/Berlin")
    assert _series(daily, _utc(2026, 3, 28, 12), 2) == [
        _utc(2026, 3, 29, 1),  # 03:00 CEST
        _utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    # Every 15 minutes: 02:00..02:45 all fall in the gap and fire once, at 03:00.
    quarterly = CronSchedule("*/15 * * * *", "Europe/Berlin")
    assert _series(quarterly, _utc(2026, 3, 29, 0, 40), 3) == [
        _utc(2026, 3, 29, 0, 45),  # 01:45 CET
        _utc(2026, 3, 29, 1, 0),  # 03:00 CEST
        _utc(2026, 3, 29, 1, 15),  # 03:15 CEST
    ]


def test_an_ambiguous_wall_time_fires_once_in_new_york() -> None:
    # 01:30 happens twice in New York on 1 November 2026 (EDT, then EST).
    schedule = CronSchedule("30 1 * * *", "America/New_York")
    slots = _series(schedule, _utc(2026, 10, 31, 12), 2)
    assert slots == [_utc(2026, 11, 1, 5, 30), _utc(2026, 11, 2, 6, 30)]


def test_slots_are_strictly_increasing_through_fall_back() -> None:
    schedule = CronSchedule("*/20 * * * *", "Europe/Berlin")
    slots = _series(schedule, _utc(2026, 10, 24, 23), 12)
    assert slots == sorted(set(slots))
    # Starting inside the repeated hour (second 02:10) never yields a slot in the past.
    inside = _utc(2026, 10, 25, 1, 10)
    assert schedule.next_after(inside) > inside


def test_latest_slots_walks_back_from_now_and_is_bounded() -> None:
    every_second = CronSchedule("* * * * * *")
    day_long = every_second.latest_slots(_utc(2026, 1, 1), _utc(2026, 1, 2), limit=100)
    assert len(day_long) == 100
    assert day_long[0] == _utc(2026, 1, 1, 23, 58, 21)
    assert day_long[-1] == _utc(2026, 1, 2)
    assert every_second.latest_slots(_utc(2026, 1, 1), _utc(2026, 1, 1), limit=5) == []


def test_latest_slots_through_spring_forward_agree_with_next_after() -> None:
    schedule = CronSchedule("*/15 * * * *", "Europe/Berlin")
    start, end = _utc(2026, 3, 29, 0, 0), _utc(2026, 3, 29, 2, 0)
    forward, current = [], start
    while (current := schedule.next_after(current)) <= end:
        forward.append(current)
    assert schedule.latest_slots(start, end, limit=100) == forward
