"""When a login attempt must wait: a pure policy over the failed logins the database recorded.

Two rules, neither of which lets a third party lock the real user out:

- **Per (account, client address) pair, growing delays.** A pair has `free_failures` tries; after
  that, each failure makes the next try wait twice as long as the one before, from
  `delay_base_s` up to `delay_max_s`. Failures count for `pair_window_s`. The same account from
  another address is not slowed at all, so someone guessing a user's password slows only
  themselves; a successful login clears its pair.
- **Per client address, across accounts (against spraying).** An address whose failures within
  `address_window_s` span `address_max_accounts` different accounts is refused on every
  account until enough of them age out. This one does block the right password, but only from
  that address.

What it does not do: stop a guesser who has many addresses (each gets its own free tries and
delays); argon2id's cost and the per-address rule bound what each address can do.

The clock is the caller's (`now`), so the rules are tested without waiting; the service passes
the database's time, the same clock that stamped the failures.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flomation.config import Settings


def client_key(host: str) -> str:
    """The address a client is throttled by. An IPv6 client counts as its /64: one host is
    usually given a whole /64 and could otherwise try from a fresh address every time. An
    IPv4-mapped address is its IPv4 address. Anything else (a Unix socket, "unknown") as is."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed login: the account tried (a normalised email) and when."""

    email: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    free_failures: int = 5
    delay_base_s: float = 1.0
    delay_max_s: float = 900.0
    pair_window_s: float = 3600.0
    address_max_accounts: int = 10
    address_window_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        return cls(
            free_failures=settings.login_free_failures,
            delay_base_s=settings.login_delay_base_seconds,
            delay_max_s=settings.login_delay_max_seconds,
            pair_window_s=settings.login_pair_window_seconds,
            address_max_accounts=settings.login_address_max_accounts,
            address_window_s=settings.login_window_seconds,
        )

    @property
    def memory_s(self) -> float:
        """How long a failure matters to either rule (older ones may be deleted)."""
        return max(self.pair_window_s, self.address_window_s)

    def pair_delay_s(self, failures: int) -> float:
        """How long a pair waits after its `failures`-th failure in the window."""
        if failures < self.free_failures:
            return 0.0
        # Capped exponent: 2**huge would overflow a float long before the cap matters.
        exponent = min(failures - self.free_failures, 64)
        return min(self.delay_max_s, self.delay_base_s * 2.0**exponent)

    def retry_after_s(
        self, *, now: datetime, pair: Sequence[datetime], address: Sequence[Failure]
    ) -> int | None:
        """Seconds until an account may be tried from an address, or None when it may now.

        `pair`: failures of this account from this address; `address`: failures of any account
        from this address. Either may hold older failures than the windows: they are ignored.
        """
        waits: list[float] = []
        pair_since = now - timedelta(seconds=self.pair_window_s)
        recent = sorted(at for at in pair if at > pair_since)
        if recent:
            free_at = recent[-1] + timedelta(seconds=self.pair_delay_s(len(recent)))
            waits.append((free_at - now).total_seconds())
        address_since = now - timedelta(seconds=self.address_window_s)
        latest: dict[str, datetime] = {}
        for failure in address:
            previous = latest.get(failure.email)
            if failure.at > address_since and (previous is None or failure.at > previous):
                latest[failure.email] = failure.at
        if len(latest) >= self.address_max_accounts:
            # Refused until fewer than the limit of accounts have a failure in the window: when
            # the limit-th most recent account's last failure leaves it.
            kth = sorted(latest.values(), reverse=True)[self.address_max_accounts - 1]
            frees_at = kth + timedelta(seconds=self.address_window_s)
            waits.append((frees_at - now).total_seconds())
        longest = max(waits, default=0.0)
        if longest <= 0:
            return None
        return max(1, math.ceil(longest))
