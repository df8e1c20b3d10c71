"""Loading the node and connection registries (the API, `flomation run`) loads no database
client: asyncpg, asyncmy and redis-py are imported by the nodes that use them, when they run."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_registries_load_no_database_client() -> None:
    code = (
        "import json, sys\n"
        "from flomation.engine.nodes.registry import default_registry\n"
        "from flomation.integrations.registry import connection_types\n"
        "names = default_registry().names()\n"
        "kinds = connection_types().names()\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'names': names, 'kinds': kinds}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert {"postgres.query", "mysql.query", "redis.command", "csv.parse", "csv.build"} <= set(
        loaded["names"]
    )
    assert {"postgres", "mysql", "redis"} <= set(loaded["kinds"])
    clients = ("asyncpg", "asyncmy", "redis")
    assert [m for m in loaded["modules"] if m.split(".")[0] in clients] == []
