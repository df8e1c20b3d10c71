"""Each trigger type's config is validated with every problem located; defaults per spec."""

from __future__ import annotations

from typing import Any

import pytest

from flomation.errors import ValidationFailed
from flomation.triggers.config import (
    GitConfig,
    S3Config,
    ScheduleConfig,
    WebhookConfig,
    parse_config,
)


def _locs(trigger_type: str, config: Any) -> list[list[Any]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_config(trigger_type, config)
    return [error["loc"] for error in caught.value.errors or []]


def test_schedule_defaults_follow_the_spec() -> None:
    config = parse_config("schedule", {"cron": "*/5 * * * *"})
    assert config == ScheduleConfig(
        cron="*/5 * * * *", timezone="UTC", catch_up="none", overlap="allow"
    )


def test_schedule_accepts_six_fields_with_seconds_first() -> None:
    config = parse_config("schedule", {"cron": "*/10 * * * * *"})
    assert isinstance(config, ScheduleConfig)
    assert config.has_seconds


@pytest.mark.parametrize("cron", ["61 * * * *", "* * * *", "* * * * * * *", "not cron", ""])
def test_bad_cron_is_refused_at_its_field(cron: str) -> None:
    assert _locs("schedule", {"cron": cron}) == [["body", "config", "cron"]]


def test_unknown_timezone_and_policies_are_each_reported() -> None:
    locs = _locs(
        "schedule",
        {"cron": "* * * * *", "timezone": "Mars/Olympus", "catch_up": "some", "overlap": "x"},
    )
    assert sorted(map(tuple, locs)) == [
        ("body", "config", "catch_up"),
        ("body", "config", "overlap"),
        ("body", "config", "timezone"),
    ]


def test_unknown_fields_are_refused() -> None:
    assert _locs("schedule", {"cron": "* * * * *", "tz": "UTC"}) == [["body", "config", "tz"]]


def test_unknown_type_is_refused_at_type() -> None:
    assert _locs("email", {}) == [["body", "type"]]


def test_webhook_defaults_and_normalised_path() -> None:
    config = parse_config("webhook", {"path": "/github/push/"})
    assert config == WebhookConfig(path="github/push", method="POST", respond="async")
    assert isinstance(config, WebhookConfig)
    assert config.sync_timeout_s == 30.0


@pytest.mark.parametrize(
    "path", ["", "/", "a//b", "../etc", "a/./b", "a b", "a?x=1", "é", ".hidden"]
)
def test_unsafe_webhook_paths_are_refused(path: str) -> None:
    assert _locs("webhook", {"path": path}) == [["body", "config", "path"]]


def test_webhook_auth_names_secrets_and_a_known_scheme() -> None:
    locs = _locs(
        "webhook",
        {"path": "x", "auth": {"hmac_secret": "not a name", "hmac_scheme": "md5", "extra": 1}},
    )
    assert sorted(map(tuple, locs)) == [
        ("body", "config", "auth", "extra"),
        ("body", "config", "auth", "hmac_scheme"),
        ("body", "config", "auth", "hmac_secret"),
    ]


def test_s3_and_git_defaults_and_minimum_interval() -> None:
    s3 = parse_config("s3", {"bucket": "my-bucket", "prefix": "in/"})
    assert s3 == S3Config(bucket="my-bucket", prefix="in/", interval_s=60)
    git = parse_config("git", {"url": "https://example.com/r.git", "branch": "main"})
    assert git == GitConfig(url="https://example.com/r.git", branch="main", interval_s=60)
    assert _locs("s3", {"bucket": "b-b", "interval_s": 0.5}) == [["body", "config", "interval_s"]]


@pytest.mark.parametrize("url", ["--upload-pack=evil", "ftp://x/y", "/local/path", "https://a b"])
def test_git_urls_that_could_be_options_or_unsupported_are_refused(url: str) -> None:
    assert _locs("git", {"url": url, "branch": "main"}) == [["body", "config", "url"]]


@pytest.mark.parametrize("branch", ["-f", "a..b", "x.lock", "a b", "a:b"])
def test_bad_branch_names_are_refused(branch: str) -> None:
    assert _locs("git", {"url": "file:///r", "branch": branch}) == [["body", "config", "branch"]]
