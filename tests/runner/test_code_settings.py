"""The runner's settings for user code: where the token comes from, network for code,
per-run uids and the ceilings handed to the code runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from flomation.runner.config import RunnerSettings, parse_uid_range

API = "https://flo.example.com"


def test_the_token_can_come_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("flo_r_from_file\n")
    settings = RunnerSettings(api=API, token_file=token_file)
    assert settings.token.get_secret_value() == "flo_r_from_file"


def test_the_token_file_can_be_named_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("flo_r_env_file")
    monkeypatch.setenv("FLOMATION_RUNNER_TOKEN_FILE", str(token_file))
    assert RunnerSettings(api=API).token.get_secret_value() == "flo_r_env_file"


def test_a_missing_token_says_where_to_put_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOMATION_RUNNER_TOKEN", raising=False)
    with pytest.raises(ValidationError, match="FLOMATION_RUNNER_TOKEN or give --token-file"):
        RunnerSettings(api=API)


def test_a_token_file_that_cannot_be_read_or_is_empty_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read the token file"):
        RunnerSettings(api=API, token_file=tmp_path / "missing")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValidationError, match="is empty"):
        RunnerSettings(api=API, token_file=tmp_path / "empty")


def test_a_token_and_a_token_file_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("flo_r_a")
    with pytest.raises(ValidationError, match="not both"):
        RunnerSettings(api=API, token="flo_r_b", token_file=tmp_path / "token")


def test_code_has_no_network_on_shared_runners_unless_told_otherwise() -> None:
    shared = RunnerSettings(api=API, token="t", egress_policy="shared_cloud")
    own = RunnerSettings(api=API, token="t")
    assert shared.isolation_settings().isolate_network is True
    assert own.isolation_settings().isolate_network is False
    explicit = RunnerSettings(api=API, token="t", egress_policy="shared_cloud", code_network=True)
    assert explicit.isolation_settings().isolate_network is False
    closed = RunnerSettings(api=API, token="t", code_network=False)
    assert closed.isolation_settings().isolate_network is True


def test_ceilings_sandbox_and_uid_range_reach_the_code_runner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOMATION_RUNNER_CODE_MAX_MEMORY_MB", "2048")
    monkeypatch.setenv("FLOMATION_RUNNER_CODE_MAX_DISK_MB", "64")
    monkeypatch.setenv("FLOMATION_RUNNER_CODE_SANDBOX", "require")
    monkeypatch.setenv("FLOMATION_RUNNER_CODE_UID_RANGE", "2000000-2000099")
    isolation = RunnerSettings(api=API, token="t").isolation_settings()
    assert isolation.ceilings.memory_mb == 2048
    assert isolation.ceilings.disk_mb == 64
    assert isolation.ceilings.timeout_s == 900  # the default
    assert isolation.sandbox == "require"
    assert isolation.uid_range == (2_000_000, 2_000_099)
    assert (
        RunnerSettings(api=API, token="t", code_uid_range="off").isolation_settings().uid_range
        is None
    )
    monkeypatch.delenv("FLOMATION_RUNNER_CODE_UID_RANGE")
    assert RunnerSettings(api=API, token="t").isolation_settings().uid_range == "auto"


def test_bad_code_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="first-last"):
        RunnerSettings(api=API, token="t", code_uid_range="2000000")
    with pytest.raises(ValidationError, match="1 <= first <= last"):
        RunnerSettings(api=API, token="t", code_uid_range="10-5")
    with pytest.raises(ValidationError):
        RunnerSettings(api=API, token="t", code_sandbox="sometimes")
    with pytest.raises(ValidationError):
        RunnerSettings(api=API, token="t", code_max_memory_mb=0)
    assert parse_uid_range("1-1") == (1, 1)


def test_spare_sandboxes_reach_the_code_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    assert RunnerSettings(api=API, token="t").isolation_settings().spares == 2
    monkeypatch.setenv("FLOMATION_RUNNER_CODE_SPARES", "0")
    assert RunnerSettings(api=API, token="t").isolation_settings().spares == 0
