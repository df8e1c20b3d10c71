"""`flomation.backoff`: the one exponential delay every retrying part uses."""

from __future__ import annotations

import pytest

from flomation.backoff import MAX_DOUBLINGS, Backoff, exponential_delay_s


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """The bounds of every random draw; each draw answers its upper bound."""
    bounds: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr("flomation.backoff.random.uniform", uniform)
    return bounds


def test_the_delay_doubles_per_step_up_to_its_cap() -> None:
    assert [exponential_delay_s(2.0, n, 30.0) for n in range(6)] == [2, 4, 8, 16, 30, 30]
    assert exponential_delay_s(2.0, 0, 1.0) == 1.0


def test_without_jitter_the_delay_is_a_float_and_never_random(
    draws: list[tuple[float, float]],
) -> None:
    delay = exponential_delay_s(3, 2, 100)
    assert delay == 12.0
    assert isinstance(delay, float)
    assert draws == []


def test_doubling_stops_so_a_huge_step_count_reaches_the_cap_without_overflow() -> None:
    assert exponential_delay_s(1e-300, 10**6, 7.0) == 1e-300 * 2**MAX_DOUBLINGS
    assert exponential_delay_s(1.0, 10**6, 3600.0) == 3600.0


def test_the_floor_raises_a_small_delay() -> None:
    assert exponential_delay_s(0.1, 0, 0.05, floor_s=0.2) == 0.2


def test_jitter_draws_from_the_top_share_of_the_delay(draws: list[tuple[float, float]]) -> None:
    assert exponential_delay_s(10.0, 1, 100.0, jitter=0.5) == 20.0
    assert exponential_delay_s(10.0, 1, 100.0, jitter=1.0) == 20.0
    assert exponential_delay_s(10.0, 1, 100.0, jitter=1.0, floor_s=5.0) == 20.0
    assert exponential_delay_s(10.0, 0, 1.0, jitter=1.0, floor_s=5.0) == 5.0
    assert draws == [(10.0, 20.0), (0.0, 20.0), (5.0, 20.0), (5.0, 5.0)]


def test_jittered_delays_spread_within_their_bounds() -> None:
    values = {exponential_delay_s(8.0, 0, 60.0, jitter=0.5) for _ in range(50)}
    assert all(4.0 <= value <= 8.0 for value in values)
    assert len(values) > 1


def test_backoff_draws_between_half_its_first_delay_and_a_doubling_cap(
    draws: list[tuple[float, float]],
) -> None:
    sequence = Backoff(initial_s=0.1, max_s=2.0)
    delays = [sequence.next_delay_s() for _ in range(7)]
    assert (
        draws
        == [(0.05, 0.1), (0.05, 0.2), (0.05, 0.4), (0.05, 0.8), (0.05, 1.6)] + [(0.05, 2.0)] * 2
    )
    assert delays == [high for _, high in draws]
    sequence.reset()
    sequence.next_delay_s()
    assert draws[-1] == (0.05, 0.1)


def test_backoff_counts_failures_up_to_a_bound() -> None:
    sequence = Backoff(initial_s=0.01, max_s=0.02)
    for _ in range(40):
        sequence.next_delay_s()
    assert sequence.failures == 32


def test_backoff_cap_below_half_the_first_delay_keeps_the_floor(
    draws: list[tuple[float, float]],
) -> None:
    assert Backoff(initial_s=1.0, max_s=0.2).next_delay_s() == 0.5
    assert draws == [(0.5, 0.5)]


def test_backoff_delays_are_random() -> None:
    delays = {Backoff().next_delay_s() for _ in range(20)}
    assert all(0.1 <= delay <= 0.2 for delay in delays)
    assert len(delays) > 1
