"""Helpers to observe processes from the test process."""

from __future__ import annotations

import asyncio
from pathlib import Path


def process_is_running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (a killed, unreaped process is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


async def wait_until_gone(pid: int, within_s: float = 3.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + within_s
    while loop.time() < end:
        if not process_is_running(pid):
            return True
        await asyncio.sleep(0.02)
    return not process_is_running(pid)
