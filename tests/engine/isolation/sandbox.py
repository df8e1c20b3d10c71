"""Settings for test code runners: an interpreter the sandbox user can read."""

from __future__ import annotations

import os
import stat
import sys
import sysconfig
from pathlib import Path
from typing import Any

from flomation.engine.isolation import IsolationSettings


def readable_by_others(path: Path) -> bool:
    """True when a user other than the owner can read `path` (and reach it)."""
    if not path.stat().st_mode & stat.S_IROTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


def sandbox_python() -> str:
    """This interpreter when the sandbox user can read its standard library, else the
    system's (a Python installed under /root is out of the sandbox user's reach)."""
    if os.geteuid() != 0 or readable_by_others(Path(sysconfig.get_paths()["stdlib"])):
        return sys.executable
    return "/usr/bin/python3"


def sandbox_settings(**overrides: Any) -> IsolationSettings:
    values: dict[str, Any] = {"python_executable": sandbox_python(), **overrides}
    return IsolationSettings(**values)
