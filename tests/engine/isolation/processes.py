"""Helpers to observe processes from the test process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flomation.engine.isolation import CodeRunner


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


def descendants(pid: int) -> set[int]:
    """Every live descendant of `pid`, seen from the host: in the sandbox a run's processes
    have pids of their own namespace, so tests find them from the fork server down."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except (FileNotFoundError, ProcessLookupError):
            continue
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def processes_with(marker: str) -> list[int]:
    """The host's processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline and process_is_running(int(entry.name)):
                found.append(int(entry.name))
    return found


async def wait_until_all_gone(pids: set[int], within_s: float = 3.0) -> bool:
    for pid in pids:
        if not await wait_until_gone(pid, within_s):
            return False
    return True


async def run_processes(runner: CodeRunner) -> set[int]:
    """The live descendants of the runner's fork server but its idle spare sandboxes (which
    wait for later runs, and must outlive this one): the processes of the runs under way."""
    await asyncio.sleep(0.1)  # the server reports a new spare just after it handed one out
    server = runner.fork_server_pid
    assert server is not None
    found = descendants(server)
    # After: a spare still starting may have started a process since (bwrap's own), which
    # would be in `found` and not in an earlier look at its tree.
    spares = set(runner.spare_pids)
    for pid in list(spares):
        spares |= descendants(pid)
    return found - spares
