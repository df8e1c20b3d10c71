"""Execution slots: capacity is claimed before work, so the runner never holds a lease it
cannot serve (procrastinate's habit)."""

from __future__ import annotations

import asyncio


class Slots:
    """A counter of free slots. The claim loop takes every free slot at once (`reserve_all`)
    and gives back what the claim did not fill; each execution gives its slot back when it
    ends, and a subflow's parent gives it back while it waits for its child."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._used = 0
        self._freed = asyncio.Event()

    @property
    def free(self) -> int:
        return max(0, self.total - self._used)

    @property
    def used(self) -> int:
        return self._used

    async def wait_free(self) -> None:
        while self.free == 0:
            self._freed.clear()
            await self._freed.wait()

    def reserve_all(self) -> int:
        """Takes every free slot now (possibly none)."""
        count = self.free
        self._used += count
        return count

    async def acquire(self) -> None:
        """Takes one slot, waiting for it."""
        await self.wait_free()
        self._used += 1

    def give_back(self, count: int = 1) -> None:
        if count > 0:
            self._used = max(0, self._used - count)
            self._freed.set()
