"""How long a failing node waits before its next attempt, as its `retry` policy says: fixed or
doubling from `delay_s`, at most `max_delay_s`; deterministic unless the policy asks for
jitter."""

from __future__ import annotations

from flomation.backoff import exponential_delay_s
from flomation.engine.definition import RetryPolicy

__all__ = ["retry_delay_s"]

# With `jitter`, the wait is drawn from the upper half of the delay.
_JITTER = 0.5


def retry_delay_s(policy: RetryPolicy, failed_attempt: int) -> float:
    """The wait after `failed_attempt` (1-based): fixed or doubling, capped, with jitter
    drawing from the upper half of the delay so retries of many executions spread out."""
    doublings = failed_attempt - 1 if policy.backoff == "exponential" else 0
    return exponential_delay_s(
        policy.delay_s,
        doublings,
        policy.max_delay_s,
        jitter=_JITTER if policy.jitter else 0.0,
    )
