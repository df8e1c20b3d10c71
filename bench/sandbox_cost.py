"""What the code sandbox costs per run: python and shell runs, one at a time, with the
bubblewrap sandbox and with the fork server's isolation only (the fallback, and the mechanism
before the sandbox existed).

    .venv/bin/python bench/sandbox_cost.py [--runs N]

Prints the median and 90th percentile wall time of one run as the runner sees it (from the
request to the result), after a few warm-up runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from flomation.engine.isolation import CodeRunner, IsolationSettings, Limits
from flomation.engine.isolation.limits import SandboxChoice

PYTHON = "def main(ctx):\n    return ctx['n'] + 1\n"
SHELL = "echo $N"
WARM_UP = 5


async def measure(sandbox: SandboxChoice, runs: int) -> dict[str, tuple[float, float]]:
    # The system's interpreter, which the sandbox user of a root runner can read.
    runner = CodeRunner(IsolationSettings(python_executable="/usr/bin/python3", sandbox=sandbox))
    await runner.start()
    results = {}
    try:
        for kind in ("python", "shell"):
            times = []
            for i in range(WARM_UP + runs):
                began = time.perf_counter()
                if kind == "python":
                    await runner.run_python(PYTHON, {"n": i}, Limits(timeout_s=30))
                else:
                    await runner.run_shell(SHELL, {"N": str(i)}, Limits(timeout_s=30))
                if i >= WARM_UP:
                    times.append((time.perf_counter() - began) * 1000)
            times.sort()
            results[kind] = (statistics.median(times), times[int(len(times) * 0.9) - 1])
    finally:
        await runner.aclose()
    return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    runs = parser.parse_args().runs
    choices: tuple[SandboxChoice, ...] = ("off", "require")
    for sandbox in choices:
        label = "bubblewrap sandbox" if sandbox == "require" else "fork server only"
        for kind, (median, p90) in (await measure(sandbox, runs)).items():
            print(f"{label:20} {kind:6} median {median:6.1f} ms   p90 {p90:6.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
