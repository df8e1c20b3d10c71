"""`flomation` with counters, for `bench/webhooks.py --count` (a side run: the counting costs
CPU, so its latencies are not the benchmark's). Counts this process's SQL statements (by their
first words), transactions, and HTTP requests (by route); writes them as JSON to
$FLOMATION_BENCH_COUNT_FILE at each SIGUSR1 and at exit. Only this process is counted: with
`flomation api --workers N` (N > 1) the workers are other processes, so use it with `up` and
`--workers 1`.

    python bench/webhooks_count.py api --port ...   (the arguments of `flomation`)
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import re
import signal
import sys
from types import FrameType
from typing import Any

import starlette.applications
from sqlalchemy import event
from sqlalchemy.engine import Engine

from flomation.cli import main

STATEMENTS: collections.Counter[str] = collections.Counter()
REQUESTS: collections.Counter[str] = collections.Counter()
_DUMPS = [0]
_IDS = re.compile(r"/[0-9A-Za-z_-]{20,}")


@event.listens_for(Engine, "before_cursor_execute")
def _statement(*args: Any) -> None:
    STATEMENTS[" ".join(args[2].split())[:100]] += 1


@event.listens_for(Engine, "begin")
def _begin(_connection: Any) -> None:
    STATEMENTS["(BEGIN)"] += 1


@event.listens_for(Engine, "commit")
def _commit(_connection: Any) -> None:
    STATEMENTS["(COMMIT)"] += 1


_serve = starlette.applications.Starlette.__call__


async def _counted(self: Any, scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        REQUESTS[f"{scope['method']} {_IDS.sub('/{id}', scope['path'])}"] += 1
    await _serve(self, scope, receive, send)


def dump(_signum: int | None = None, _frame: FrameType | None = None) -> None:
    path = os.environ.get("FLOMATION_BENCH_COUNT_FILE")
    if path:
        _DUMPS[0] += 1
        with open(path + ".tmp", "w") as handle:
            json.dump(
                {"dump": _DUMPS[0], "statements": dict(STATEMENTS), "requests": dict(REQUESTS)},
                handle,
            )
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    starlette.applications.Starlette.__call__ = _counted  # type: ignore[method-assign]
    atexit.register(dump)
    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["flomation", *sys.argv[1:]]
    main()
