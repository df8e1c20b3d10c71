"""What the python and shell node types share: finding the code runner, mapping its errors."""

from __future__ import annotations

from flomation.engine.isolation.errors import (
    CodeFailed,
    CodeTimedOut,
    IsolationError,
    IsolationUnavailable,
)
from flomation.engine.isolation.limits import Limits
from flomation.engine.isolation.runner import CodeRunner
from flomation.engine.nodes.base import (
    CodeError,
    NodeContext,
    NodeError,
    NodeTimeoutError,
    UnavailableError,
)

__all__ = ["limits_for", "node_error", "require_code_runner"]


def require_code_runner(ctx: NodeContext) -> CodeRunner:
    runner = ctx.services.code_runner
    if not isinstance(runner, CodeRunner):
        raise UnavailableError(
            f"{ctx.node_type} nodes need the runner's code sandbox, and none is running here "
            "(a runner starts it at boot)"
        )
    return runner


def limits_for(ctx: NodeContext, *, timeout_s: float, memory_mb: int) -> Limits:
    """The node's own limits, with the timeout cut to what is left of the attempt."""
    remaining = ctx.remaining_s()
    if remaining is not None:
        timeout_s = min(timeout_s, remaining)
    return Limits(timeout_s=max(timeout_s, 0.001), memory_mb=memory_mb)


def node_error(exc: IsolationError) -> NodeError:
    if isinstance(exc, CodeTimedOut):
        return NodeTimeoutError(exc.message)
    if isinstance(exc, CodeFailed):
        if exc.traceback:
            return CodeError(f"{exc.message}\n\n{exc.traceback.rstrip()}")
        return CodeError(exc.message)
    if isinstance(exc, IsolationUnavailable):
        return UnavailableError(exc.message)
    return CodeError(exc.message)
