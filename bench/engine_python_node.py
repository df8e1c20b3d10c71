"""Cost of one python node that returns at once, beside a fresh interpreter spawn.

    .venv/bin/python bench/engine_python_node.py [--runs 300] [--python /usr/bin/python3]

The node runs through the real code runner: a request to the fork server, a forked and
sandboxed child (its own process group, working directory, rlimits and, under root, the
sandbox user), the context in and the result out over pipes, the exit reaped and the working
directory removed. The reference, measured in the same run, is what a design without a fork
server would pay at least: starting `python -c pass` (same interpreter, `-I` as the fork
server uses it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from flomation.engine.isolation import CodeRunner, IsolationSettings
from flomation.engine.nodes.base import EngineServices, ExecutionInfo, NodeContext
from flomation.engine.nodes.python import PythonNode

CODE = "def main(ctx):\n    return ctx['input']\n"


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


def spawn_reference(python: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-I", "-c", "pass"], check=True, env={})
        samples.append(time.perf_counter() - started)
    return samples


async def python_node(runner: CodeRunner, runs: int) -> list[float]:
    node = PythonNode()
    services = EngineServices(code_runner=runner)
    samples = []
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
        samples.append(time.perf_counter() - started)
        assert outcome.output == {"n": index}
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
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
    reference = spawn_reference(runner.python_executable, max(30, args.runs // 10))
    print(f"python node (fork server), {len(node)} runs:   {summary(node)}")
    print(f"reference: `python -I -c pass`, {len(reference)} runs: {summary(reference)}")


if __name__ == "__main__":
    asyncio.run(main())
