"""Claiming work and keeping it: the claim (a long poll), heartbeats, release and goodbye."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flomation.protocol.base import Strict
from flomation.protocol.probes import ProbeRequest


class HeldExecution(Strict):
    execution_id: str = Field(min_length=1, max_length=64)
    attempt: int = Field(ge=1)


class ClaimRequest(Strict):
    free_slots: int = Field(ge=0, le=1000)
    wait_s: float | None = Field(default=None, ge=0)
    held: list[HeldExecution] = Field(default_factory=list, max_length=5000)
    probes: bool = Field(
        default=False, description="This runner runs connection tests (`ProbeRequest`)"
    )


class ClaimedConnection(BaseModel):
    """A connection an execution's flow references, decrypted: its type, its values (secret
    fields included; the runner masks them) and its status (`ok`, `needs_reconnect`)."""

    type: str
    values: dict[str, Any]
    status: str = "ok"


class ClaimedExecution(BaseModel):
    """One execution leased to the runner, with all it needs to run it.

    `attempt` is the fencing token: every later call about this execution names it, and is
    refused once another attempt has taken over. `deadline_in_s` spares the runner from
    trusting its own clock against the server's. For a retry from `from_node`,
    `prior_outputs` maps the node ids before it to `{"output", "port"}` (or to the output
    alone) of their succeeded steps, reused instead of running those nodes again.
    `recovery_error` set makes this a recovery attempt: only the flow's on_error branch runs,
    with it as `error`, and the execution ends failed with it.
    """

    id: str
    flow_id: str
    revision: int
    attempt: int = Field(ge=1)
    definition: dict[str, Any]
    input: Any
    trigger: dict[str, Any]
    lease_expires_at: str = Field(description="RFC 3339")
    deadline_at: str | None = Field(description="RFC 3339; None without a time limit")
    deadline_in_s: float | None
    timeout_s: float | None
    depth: int = Field(ge=0)
    parent_execution_id: str | None
    from_node: str | None
    prior_outputs: dict[str, Any] | None
    recovery_error: dict[str, Any] | None
    variables: dict[str, Any]
    secrets: dict[str, str]
    connections: dict[str, ClaimedConnection] = Field(
        default_factory=dict, description="Only the connections the definition references"
    )
    imported_services: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The imported OpenAPI services whose node types the definition uses, as "
        "stored (`ImportedService.to_dict()`); the runner rebuilds their types from them",
    )


class ClaimResponse(BaseModel):
    executions: list[ClaimedExecution]
    probes: list[ProbeRequest] = Field(
        default_factory=list, description="Connection tests to run (runners that said `probes`)"
    )
    cancel: list[str] = Field(description="Held executions to cancel")
    lost: list[str] = Field(description="Held executions this runner no longer holds")


class HeartbeatRequest(Strict):
    held: list[HeldExecution] = Field(default_factory=list, max_length=5000)
    running: int = Field(default=0, ge=0)


class HeartbeatResponse(BaseModel):
    renewed: list[str]
    cancel: list[str]
    lost: list[str]


class ReleaseRequest(Strict):
    executions: list[HeldExecution] = Field(max_length=5000)


class GoodbyeRequest(Strict):
    """A runner's last call at a clean shutdown; nothing to say but that it goes."""
