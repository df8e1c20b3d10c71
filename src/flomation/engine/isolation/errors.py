"""Errors of the code runner. Node types map them to their `NodeError` types."""

from __future__ import annotations

from typing import Literal

FailureReason = Literal[
    "code",  # the code raised (traceback attached) or the command failed to start
    "memory",  # the memory limit was hit
    "exit",  # the code called sys.exit() / exit()
    "result",  # main(ctx) returned something that is not JSON
    "crashed",  # the process died without a result (signal, os._exit, CPU limit)
    "output_limit",  # stdout, stderr or the result exceeded its size limit
    "setup",  # the sandbox could not be set up for this run
]


class IsolationError(Exception):
    """Base of every error of the code runner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IsolationUnavailable(IsolationError):
    """Code cannot run on this runner: isolation is impossible and was not waived, or the fork
    server could not be started or died."""


class CodeFailed(IsolationError):
    """The user's code failed. `traceback` holds the frames of the user's code only."""

    def __init__(self, message: str, *, reason: FailureReason, traceback: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.traceback = traceback


class CodeTimedOut(IsolationError):
    """The run exceeded its wall-clock time limit; its whole process group was killed."""

    def __init__(self, timeout_s: float, *, ceiling: bool = False) -> None:
        note = " (this runner's ceiling)" if ceiling else ""
        super().__init__(f"the code did not finish within {timeout_s:g} s{note} and was killed")
        self.timeout_s = timeout_s
