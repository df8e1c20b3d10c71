"""Exponential backoff with full jitter, for every retry against the API."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """`next_delay_s()` grows 2x per failure up to `max_s`, each a random draw in [0, cap]
    (full jitter: runners that lost the API together do not come back in lockstep)."""

    initial_s: float = 0.2
    max_s: float = 15.0
    failures: int = field(default=0, init=False)

    def next_delay_s(self) -> float:
        cap = min(self.max_s, self.initial_s * (2**self.failures))
        self.failures = min(self.failures + 1, 32)
        return random.uniform(self.initial_s / 2, max(cap, self.initial_s / 2))

    def reset(self) -> None:
        self.failures = 0
