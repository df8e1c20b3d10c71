"""The engine stays pure: importing it loads no database, web, API, runner or Launch code."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "flomation.db",
    "flomation.models",
    "flomation.api",
    "flomation.auth",
    "flomation.flows",
    "flomation.executions",
    "flomation.runners",
    "flomation.triggers",
    "flomation.secrets",
    "flomation.runner",
    "flomation.launch",
)


def test_importing_the_engine_loads_nothing_forbidden() -> None:
    code = (
        "import json, sys\n"
        "import flomation.engine.executor, flomation.engine.validation, flomation.engine.local\n"
        "from flomation.engine.nodes.registry import list_node_types\n"
        "list_node_types()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "flomation.engine.executor" in loaded
    bad = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == []
