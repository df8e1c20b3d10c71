"""Isolation of user code (python and shell nodes) from the runner process.

`CodeRunner` is the public face; the fork server (`_forkserver.py`) is what it runs.
"""

from flomation.engine.isolation.errors import (
    CodeFailed,
    CodeTimedOut,
    IsolationError,
    IsolationUnavailable,
)
from flomation.engine.isolation.limits import IsolationSettings, Limits
from flomation.engine.isolation.mode import IsolationMode, decide_isolation
from flomation.engine.isolation.runner import CodeRunner, LogLine, PythonResult, ShellResult

__all__ = [
    "CodeFailed",
    "CodeRunner",
    "CodeTimedOut",
    "IsolationError",
    "IsolationMode",
    "IsolationSettings",
    "IsolationUnavailable",
    "Limits",
    "LogLine",
    "PythonResult",
    "ShellResult",
    "decide_isolation",
]
