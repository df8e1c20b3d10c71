"""The one RFC 3339 writer and reader (src/flomation/timeutil.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from flomation.timeutil import format_timestamp, isoformat, parse_rfc3339


def test_times_are_written_in_utc_with_a_z() -> None:
    paris = timezone(timedelta(hours=2))
    assert isoformat(datetime(2026, 3, 1, 14, 30, tzinfo=paris)) == "2026-03-01T12:30:00Z"
    assert isoformat(datetime(2026, 3, 1, 12, 30, 0, 5000, tzinfo=UTC)) == (
        "2026-03-01T12:30:00.005000Z"
    )
    assert isoformat(None) is None


def test_a_posix_time_is_written_like_a_datetime() -> None:
    at = datetime(2026, 3, 1, 12, 30, 0, 250000, tzinfo=UTC)
    assert format_timestamp(at.timestamp()) == isoformat(at) == "2026-03-01T12:30:00.250000Z"


def test_what_is_written_reads_back_as_the_same_instant() -> None:
    at = datetime(2026, 3, 1, 12, 30, 0, 250000, tzinfo=UTC)
    assert parse_rfc3339(isoformat(at)) == at
    assert parse_rfc3339("2026-03-01T14:30:00.25+02:00") == at


@pytest.mark.parametrize("text", ["2026-03-01T12:30:00", "yesterday", ""])
def test_a_time_without_an_offset_or_not_a_time_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)
