"""A failing trigger source waits longer after each failure in a row: its poll interval
doubled per failure, at most an hour, with no randomness (the state shows when it runs next)."""

from __future__ import annotations

from flomation.triggers.firing import MAX_BACKOFF_S, backoff_s


def test_the_wait_doubles_the_interval_per_failure_up_to_an_hour() -> None:
    waits = [backoff_s(60.0, errors) for errors in range(9)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert MAX_BACKOFF_S == 3600.0


def test_the_shortest_interval_reaches_the_cap_and_stays_there() -> None:
    assert [backoff_s(1.0, errors) for errors in (1, 11, 12, 20, 1000)] == [
        2.0,
        2048.0,
        3600.0,
        3600.0,
        3600.0,
    ]


def test_an_integer_interval_still_gives_seconds_as_a_float() -> None:
    wait = backoff_s(10, 1)
    assert wait == 20.0
    assert isinstance(wait, float)
