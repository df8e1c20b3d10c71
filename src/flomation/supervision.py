"""Keeping `flomation up`'s parts alive: a part (the local runner process, the Launch service)
that ends while the whole is not stopping is logged and started again after a backoff.

A part that keeps dying is restarted ever more slowly (exponential, with jitter, up to
`max_s`); one that ran for `healthy_after_s` before it ended counts as having worked, so the
next restart is quick again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from flomation.backoff import Backoff

log = logging.getLogger("flomation.supervision")

RESTART_INITIAL_S = 1.0
RESTART_MAX_S = 30.0
HEALTHY_AFTER_S = 60.0


async def supervise(
    name: str,
    run_once: Callable[[], Awaitable[str]],
    stop: asyncio.Event,
    *,
    backoff: Backoff | None = None,
    healthy_after_s: float = HEALTHY_AFTER_S,
) -> None:
    """Run `run_once` (which returns how it ended, e.g. "exit status -9") until `stop` is
    set, restarting it after a backoff each time it ends or raises before that."""
    backoff = backoff or Backoff(RESTART_INITIAL_S, RESTART_MAX_S)
    loop = asyncio.get_running_loop()
    restarts = 0
    while not stop.is_set():
        started = loop.time()
        try:
            outcome = await run_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a part's bug must not end the supervision
            log.exception("%s failed", name)
            outcome = f"failed: {exc!r}"
        if stop.is_set():
            return
        if loop.time() - started >= healthy_after_s:
            backoff.reset()
        delay_s = backoff.next_delay_s()
        restarts += 1
        log.warning("%s ended (%s); restart %d in %.1f s", name, outcome, restarts, delay_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay_s)
