"""The runner's settings (flags and FLOMATION_RUNNER_* variables) and its retry backoff."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flomation.backoff import Backoff
from flomation.runner.config import RunnerSettings, parse_labels


def test_labels_parse_from_the_flag_syntax() -> None:
    assert parse_labels("location=onprem, gpu=yes,") == {"location": "onprem", "gpu": "yes"}
    with pytest.raises(ValueError, match="key=value"):
        parse_labels("location")
    with pytest.raises(ValueError, match="twice"):
        parse_labels("a=1,a=2")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOMATION_RUNNER_API", "https://flo.example.com/")
    monkeypatch.setenv("FLOMATION_RUNNER_TOKEN", "flo_r_x")
    monkeypatch.setenv("FLOMATION_RUNNER_LABELS", "location=onprem")
    monkeypatch.setenv("FLOMATION_RUNNER_MAX_CONCURRENT_EXECUTORS", "8")
    settings = RunnerSettings()
    assert settings.api == "https://flo.example.com"
    assert settings.labels == {"location": "onprem"}
    assert settings.max_concurrent_executors == 8
    assert "flo_r_x" not in repr(settings)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="http"):
        RunnerSettings(api="flo.example.com", token="t")
    with pytest.raises(ValidationError):
        RunnerSettings(api="http://x", token="t", egress_policy="open")


def test_the_runner_backoff_doubles_from_its_settings_with_full_jitter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = RunnerSettings(api="http://x", token="t")
    bounds: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr("flomation.backoff.random.uniform", uniform)
    sequence = Backoff(settings.backoff_initial_s, settings.backoff_max_s)
    delays = [sequence.next_delay_s() for _ in range(9)]
    caps = [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 15.0, 15.0]
    assert bounds == [(0.1, cap) for cap in caps]
    assert delays == caps


def test_backoff_grows_to_its_cap_with_jitter_and_resets() -> None:
    backoff = Backoff(initial_s=0.1, max_s=2.0)
    delays = [backoff.next_delay_s() for _ in range(12)]
    assert all(0.05 <= delay <= 2.0 for delay in delays)
    assert max(delays[6:]) > 0.4  # grown well past the first delay
    backoff.reset()
    assert backoff.next_delay_s() <= 0.1
