"""The login throttle's rules, on a clock the test sets (`LoginThrottle` is pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flomation.auth.throttle import Failure, LoginThrottle, client_key

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY = LoginThrottle(
    free_failures=3,
    delay_base_s=2.0,
    delay_max_s=60.0,
    pair_window_s=3600.0,
    address_max_accounts=4,
    address_window_s=300.0,
)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_pair_has_its_free_failures_without_waiting() -> None:
    pair = [_at(0), _at(1)]
    assert POLICY.retry_after_s(now=_at(1), pair=pair, address=[]) is None


def test_after_the_free_failures_each_failure_doubles_the_wait_up_to_the_cap() -> None:
    delays = [POLICY.pair_delay_s(failures) for failures in range(1, 10)]
    assert delays == [0.0, 0.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert POLICY.pair_delay_s(10_000) == 60.0


def test_a_throttled_pair_may_try_again_once_its_delay_has_passed() -> None:
    pair = [_at(0), _at(1), _at(2), _at(3)]  # the 4th failure: wait 4 s after it
    assert POLICY.retry_after_s(now=_at(3.5), pair=pair, address=[]) == 4
    assert POLICY.retry_after_s(now=_at(6.9), pair=pair, address=[]) == 1
    assert POLICY.retry_after_s(now=_at(7.0), pair=pair, address=[]) is None


def test_failures_older_than_the_pair_window_no_longer_count() -> None:
    pair = [_at(0), _at(1), _at(2), _at(3)]
    later = _at(3 + 3600)
    assert POLICY.retry_after_s(now=later, pair=pair, address=[]) is None


def test_one_address_failing_on_many_accounts_waits_until_the_oldest_leave_the_window() -> None:
    address = [Failure(email=f"user{n}@example.test", at=_at(n * 10)) for n in range(4)]
    # Four accounts within 300 s: refused until the first (at 0 s) leaves the window at 300 s.
    assert POLICY.retry_after_s(now=_at(31), pair=[], address=address) == 269
    assert POLICY.retry_after_s(now=_at(300), pair=[], address=address) is None


def test_many_failures_on_few_accounts_are_not_spraying() -> None:
    address = [Failure(email=f"user{n % 3}@example.test", at=_at(n)) for n in range(30)]
    assert POLICY.retry_after_s(now=_at(30), pair=[], address=address) is None


def test_the_longer_of_the_two_waits_wins() -> None:
    pair = [_at(0), _at(1), _at(2)]  # wait 2 s after the 3rd failure
    address = [Failure(email=f"user{n}@example.test", at=_at(n)) for n in range(4)]
    assert POLICY.retry_after_s(now=_at(3), pair=pair, address=address) == 297


def test_an_ipv6_client_is_throttled_by_its_64_and_a_mapped_ipv4_by_its_ipv4() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("unknown") == "unknown"
