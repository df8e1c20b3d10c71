"""How long a failing node waits before its next attempt (`retry_delay_s`): fixed or doubling
from `delay_s`, at most `max_delay_s`, the same every time unless the policy asks for jitter."""

from __future__ import annotations

import pytest

from flomation.engine.definition import RetryPolicy
from flomation.engine.retry import retry_delay_s


@pytest.mark.parametrize(
    ("policy", "delays"),
    [
        ({"delay_s": 2}, [2, 2, 2]),
        ({"delay_s": 2, "backoff": "exponential"}, [2, 4, 8]),
        ({"delay_s": 2, "backoff": "exponential", "max_delay_s": 5}, [2, 4, 5]),
        ({"delay_s": 2, "max_delay_s": 1}, [1, 1, 1]),
        ({"delay_s": 0, "backoff": "exponential"}, [0, 0, 0]),
    ],
)
def test_retry_delays(policy: dict[str, object], delays: list[float]) -> None:
    retry = RetryPolicy.model_validate(policy)
    assert [retry_delay_s(retry, attempt) for attempt in (1, 2, 3)] == delays


def test_the_longest_policy_reaches_its_cap_at_the_last_attempt() -> None:
    retry = RetryPolicy(max_attempts=100, delay_s=86_400, backoff="exponential", max_delay_s=60)
    assert retry_delay_s(retry, 99) == 60.0


def test_jitter_stays_within_the_upper_half_of_the_delay() -> None:
    retry = RetryPolicy(delay_s=10, jitter=True)
    values = {retry_delay_s(retry, 1) for _ in range(50)}
    assert all(5 <= v <= 10 for v in values)
    assert len(values) > 1


def test_jitter_draws_from_the_upper_half_of_the_doubled_and_capped_delay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bounds: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr("flomation.backoff.random.uniform", uniform)
    retry = RetryPolicy(delay_s=2, backoff="exponential", max_delay_s=5, jitter=True)
    assert [retry_delay_s(retry, attempt) for attempt in (1, 2, 3)] == [2, 4, 5]
    assert bounds == [(1, 2), (2, 4), (2.5, 5)]


def test_without_jitter_no_random_draw_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    def uniform(low: float, high: float) -> float:
        raise AssertionError("a deterministic policy drew a random number")

    monkeypatch.setattr("flomation.backoff.random.uniform", uniform)
    retry = RetryPolicy(delay_s=3, backoff="exponential")
    assert [retry_delay_s(retry, attempt) for attempt in range(1, 6)] == [3, 6, 12, 24, 48]
