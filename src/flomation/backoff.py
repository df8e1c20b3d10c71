"""Exponential delays between tries, for every part that retries: the engine's node retries,
the runner's calls to the API, Launch's failing trigger sources.

Pure (the standard library only), so the engine may import it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["MAX_DOUBLINGS", "Backoff", "exponential_delay_s"]

# Doubling stops here: past it every delay a caller configures is at its cap, and a larger
# power of two would overflow the float.
MAX_DOUBLINGS = 60


def exponential_delay_s(
    base_s: float,
    doublings: int,
    cap_s: float,
    *,
    jitter: float = 0.0,
    floor_s: float = 0.0,
) -> float:
    """`base_s` doubled `doublings` times, at most `cap_s`, never below `floor_s`.

    `jitter` (0 to 1) is the share of that delay drawn at random: the wait is a uniform draw
    between `delay * (1 - jitter)` (or `floor_s`, if higher) and the delay, so many clients
    that failed together do not try again in lockstep. Without jitter the delay is
    deterministic.
    """
    delay = min(cap_s, base_s * 2 ** min(doublings, MAX_DOUBLINGS))
    high = max(delay, floor_s)
    if not jitter:
        return float(high)
    return random.uniform(max(delay * (1 - jitter), floor_s), high)


@dataclass
class Backoff:
    """Successive delays for one thing that keeps failing: `next_delay_s()` doubles from
    `initial_s` per failure up to `max_s`, each a random draw between half of `initial_s` and
    that cap (full jitter: runners that lost the API together do not come back in lockstep);
    `reset()` after a success."""

    initial_s: float = 0.2
    max_s: float = 15.0
    failures: int = field(default=0, init=False)

    def next_delay_s(self) -> float:
        delay = exponential_delay_s(
            self.initial_s, self.failures, self.max_s, jitter=1.0, floor_s=self.initial_s / 2
        )
        self.failures = min(self.failures + 1, 32)
        return delay

    def reset(self) -> None:
        self.failures = 0
