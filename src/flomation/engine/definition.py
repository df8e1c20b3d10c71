"""The flow definition document (format version 1) as Pydantic models.

These models check shapes only; the graph rules (ids, edges, ports, reachability, ...) are in
`flomation.engine.validation`, which reports every problem at once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_MAX_VISITS",
    "EdgeDef",
    "FlowDefinition",
    "NodeDef",
    "Position",
    "RetryPolicy",
]

NODE_ID_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
DEFAULT_MAX_VISITS = 100


class RetryPolicy(BaseModel):
    """How a failing node is retried; `max_attempts` counts the first attempt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=3, ge=1, le=100)
    delay_s: float = Field(default=1.0, ge=0, le=86_400)
    backoff: Literal["fixed", "exponential"] = "fixed"
    max_delay_s: float = Field(default=60.0, ge=0, le=86_400)
    jitter: bool = False


class Position(BaseModel):
    """Where the editor draws a node; the engine ignores it."""

    model_config = ConfigDict(extra="allow")

    x: float = 0
    y: float = 0


class NodeDef(BaseModel):
    # Extra fields are kept: the editor may store its own (notes, colours) on a node.
    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(pattern=NODE_ID_PATTERN)
    type: str = Field(min_length=1)
    name: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    retry: RetryPolicy | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    max_visits: int = Field(default=DEFAULT_MAX_VISITS, ge=1, le=1_000_000)
    position: Position | None = None


class EdgeDef(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    port: str = Field(default="success", min_length=1)


class FlowDefinition(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    version: Literal[1]
    runs_on: dict[str, str] | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    nodes: list[NodeDef] = Field(default_factory=list)
    edges: list[EdgeDef] = Field(default_factory=list)
