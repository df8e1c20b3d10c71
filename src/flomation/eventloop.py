"""Running a service's main coroutine on the fastest event loop available.

uvloop (which `uvicorn[standard]` brings on Linux and macOS) cuts the cost of every socket
round trip, which is most of what the API and the runner spend their CPU on; where it is not
installed the standard loop serves the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is installed with the package on POSIX
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, on uvloop when it is installed."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
