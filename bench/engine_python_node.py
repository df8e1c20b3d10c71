"""Cost of one python node that returns at once, beside a fresh interpreter spawn.

    .venv/bin/python bench/engine_python_node.py [--runs 500] [--python /usr/bin/python3]

The node runs through the real code runner: a request to the fork server, a forked and
sandboxed child (its own process group, working directory, rlimits and, under root, the
sandbox user), the context in and the result out over pipes, the exit reaped and the working
directory removed. The reference, measured in the same run, is what a design without a fork
server would pay at least: starting `python -I -c pass` with the same interpreter.

Two figures for each: the median wall time, which grows when other work shares the machine,
and the CPU time per run summed over every process involved (this process, the fork server
and its reaped children; for the reference, the reaped interpreters), which does not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from flomation.engine.isolation import CodeRunner, IsolationSettings
from flomation.engine.nodes.base import EngineServices, ExecutionInfo, NodeContext
from flomation.engine.nodes.python import PythonNode

CODE = "def main(ctx):\n    return ctx['input']\n"


@dataclass
class Figures:
    wall_s: list[float]
    cpu_s: float  # total over all runs

    def line(self, label: str) -> str:
        ordered = sorted(self.wall_s)
        median_ms = statistics.median(ordered) * 1e3
        p95_ms = ordered[int(len(ordered) * 0.95) - 1] * 1e3
        cpu_ms = self.cpu_s / len(ordered) * 1e3
        return (
            f"{label:<30} {len(ordered):>4} runs   wall median {median_ms:6.2f} ms, "
            f"p95 {p95_ms:6.2f} ms   CPU {cpu_ms:6.2f} ms/run"
        )


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process plus its reaped children (utime, stime, cutime, cstime)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(ticks) for ticks in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def reaped_children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def spawn_reference(python: str, runs: int) -> Figures:
    wall = []
    cpu_before = time.process_time() + reaped_children_cpu_s()
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-I", "-c", "pass"], check=True, env={})
        wall.append(time.perf_counter() - started)
    return Figures(wall, time.process_time() + reaped_children_cpu_s() - cpu_before)


async def python_node(runner: CodeRunner, runs: int) -> Figures:
    node = PythonNode()
    services = EngineServices(code_runner=runner)
    server = runner.fork_server_pid
    assert server is not None
    server_cpu: Callable[[], float] = lambda: process_tree_cpu_s(server)  # noqa: E731
    wall = []
    cpu_before = time.process_time() + server_cpu()
    for index in range(runs):
        ctx = NodeContext(
            node_id="py",
            node_type="python",
            config={"code": CODE},
            raw_config={"code": CODE},
            execution=ExecutionInfo(),
            attempt=1,
            log=lambda level, message: None,
            services=services,
            input={"n": index},
        )
        started = time.perf_counter()
        outcome = await node.run(ctx)
        wall.append(time.perf_counter() - started)
        assert outcome.output == {"n": index}
    return Figures(wall, time.process_time() + server_cpu() - cpu_before)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--python", default=None, help="the fork server's interpreter")
    args = parser.parse_args()

    runner = CodeRunner(IsolationSettings(python_executable=args.python))
    await runner.start()
    try:
        print(f"code runs as {runner.mode.description}, interpreter {runner.python_executable}")
        await python_node(runner, 30)  # warm up
        node = await python_node(runner, args.runs)
    finally:
        await runner.aclose()
    reference = spawn_reference(runner.python_executable, max(50, args.runs // 5))
    print(node.line("python node (fork server)"))
    print(reference.line("reference: python -I -c pass"))


if __name__ == "__main__":
    asyncio.run(main())
