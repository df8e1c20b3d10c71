"""The node interface: what a node type is, what it receives, what it returns, how it fails.

Implementing a node type
------------------------
Subclass `NodeType`, fill in the class attributes and write `run`::

    class Greet(NodeType):
        type = "greet"
        title = "Greet"
        description = "Says hello to someone."
        icon = "hand"
        group = "example"
        config_schema = {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": False,
        }
        output_schema = {"type": "object", "properties": {"greeting": {"type": "string"}}}

        async def run(self, ctx: NodeContext) -> NodeOutcome:
            ctx.log("info", f"greeting {ctx.config['name']}")
            return NodeOutcome({"greeting": f"Hello, {ctx.config['name']}!"})

Rules the engine relies on:

- `ctx.config` is the node's config with every template already rendered (fields whose schema
  says `"x-template": false` are passed as written; `ctx.raw_config` is always as written).
  The written config was checked against `config_schema` when the flow was validated, and the
  rendered one is checked again before `run` wherever a template could have broken it.
- Return a `NodeOutcome(output, port)`. The port must be one of `ports_for(config)`; it
  defaults to `success`. The output must be JSON-serialisable.
- Fail by raising a `NodeError` subclass (`HttpStatusError`, `ConnectionFailedError`,
  `CodeError`, ...). The engine fills in `node_id` and `attempt`. Any other exception is
  reported as an `internal` error. Retryable errors are retried as the node's `retry` says;
  `retryable = False` on the class turns retries off for the whole type.
- Do not catch `asyncio.CancelledError`: cancellation and timeouts are the engine's, and a
  node must stop at once when its task is cancelled (kill child processes in `finally`).
- Use `ctx.services` for shared resources (one `httpx.AsyncClient`, the egress policy, the
  code runner, the subflow launcher) instead of creating your own, and `ctx.deadline` /
  `ctx.remaining_s()` to bound your own waits.
- Variables and secrets a node reads outside templates (python's `config.vars` and
  `config.secrets` lists) are declared by overriding `references(config)`, so the API sends
  them to the runner; `ctx.vars` and `ctx.secrets` hold what the execution may see.
- `pure = True` declares that `run` never awaits anything (no I/O, no sleep): the engine then
  runs it inline, without a task of its own and without `timeout_s` or a concurrency slot,
  which keeps cheap nodes cheap.
- A node that talks to another system through a connection lists the connection types it
  accepts in `connection_types`; its config then names one in `connection` (a literal, never
  a template) and `ctx.connection()` gives the resolved `Connection` (the API sends only the
  connections a flow references, and masks their secret fields' values wherever they appear).
- Flomation's own types are named one by one in `nodes/registry.py` (`BUILTIN_TYPES`,
  `PROCESS_TYPES`). Third-party packages register types in the entry-point group
  `flomation.nodes`; the entry point names a `NodeType` subclass.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx

from flomation.protocol.events import LogLevel

__all__ = [
    "DEFAULT_PORTS",
    "AllowAllEgress",
    "AuthenticationError",
    "BlockedError",
    "CancelledNodeError",
    "CodeError",
    "ConfigError",
    "Connection",
    "ConnectionFailedError",
    "ConnectionRefresher",
    "EgressPolicy",
    "EngineServices",
    "ExecutionInfo",
    "FailError",
    "HttpStatusError",
    "InternalNodeError",
    "LogFn",
    "LogLevel",
    "LoopLimitError",
    "NodeContext",
    "NodeError",
    "NodeOutcome",
    "NodeTimeoutError",
    "NodeType",
    "ResultTooLargeError",
    "ServiceError",
    "SubflowError",
    "SubflowLauncher",
    "SubflowParent",
    "TemplateError",
    "UnavailableError",
    "UnavailableSubflowLauncher",
]

LogFn = Callable[[LogLevel, str], None]

DEFAULT_PORTS: tuple[str, ...] = ("success", "error")


# --------------------------------------------------------------------------- errors


class NodeError(Exception):
    """A node failed. `type` is the stable machine name users see (`error.type`).

    The engine sets `node_id` and `attempt` when the error leaves a node; raise with only a
    message. `field` names the config field at fault when there is one (templates, config).
    """

    type: ClassVar[str] = "internal"
    retryable: bool = True

    def __init__(
        self,
        message: str,
        *,
        node_id: str = "",
        attempt: int = 0,
        field: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.node_id = node_id
        self.attempt = attempt
        self.field = field
        # Overrides the class's default for this one failure: a service error is retryable
        # only when the other system says retrying is safe (a deadlock, a 503, a timeout).
        if retryable is not None:
            self.retryable = retryable

    def to_dict(self) -> dict[str, Any]:
        """The error object of the API and of templates: `{node_id, type, message, attempt}`."""
        return {
            "node_id": self.node_id,
            "type": self.type,
            "message": self.message,
            "attempt": self.attempt,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, node_id={self.node_id!r})"


class InternalNodeError(NodeError):
    """An unexpected exception inside a node (a bug in the node type)."""

    type = "internal"


class NodeTimeoutError(NodeError):
    """An attempt exceeded the node's `timeout_s` (or the node's own time limit)."""

    type = "timeout"


class HttpStatusError(NodeError):
    """An HTTP answer whose status the node did not expect."""

    type = "http_status"


class ConnectionFailedError(NodeError):
    """A network connection could not be made or broke off."""

    type = "connection"


class CodeError(NodeError):
    """User code (python, shell) raised or exited badly."""

    type = "code"


class UnavailableError(NodeError):
    """The node cannot run here (e.g. no isolation available on this runner)."""

    type = "unavailable"
    retryable = False


class TemplateError(NodeError):
    """A template did not parse, render, or exceeded its time or size limit."""

    type = "template"
    retryable = False


class LoopLimitError(NodeError):
    """A node would run more often than its `max_visits`."""

    type = "loop_limit"
    retryable = False


class FailError(NodeError):
    """Raised by the `fail` node: the flow author's deliberate failure."""

    type = "fail"
    retryable = False


class CancelledNodeError(NodeError):
    """The node was cancelled (execution cancelled, a `return` ended it, on_error took over)."""

    type = "cancelled"
    retryable = False


class BlockedError(NodeError):
    """The egress policy refused the destination."""

    type = "blocked"
    retryable = False


class ConfigError(NodeError):
    """The (rendered) config does not fit the node type's schema or rules."""

    type = "config"
    retryable = False


class SubflowError(NodeError):
    """A child execution failed or could not be started."""

    type = "subflow"


class ServiceError(NodeError):
    """The other system answered with an error (an SQL error, a broker's refusal, a 4xx/5xx);
    the message says what it answered. Not retried unless raised with `retryable=True`."""

    type = "service"
    retryable = False


class AuthenticationError(NodeError):
    """The other system refused the connection's credentials (or they need reconnecting)."""

    type = "authentication"
    retryable = False


class ResultTooLargeError(NodeError):
    """A result would exceed the step size limit (a query without LIMIT, a huge object)."""

    type = "too_large"
    retryable = False


# --------------------------------------------------------------------------- services


@dataclass(frozen=True, slots=True)
class Connection:
    """A resolved connection as a node sees it: its type, its values (secrets included, in
    the clear) and which of them are secret (masked in every output, log and error).
    `status` is the API's (`ok`, `needs_reconnect`, ...); nodes refuse a connection that
    needs reconnecting with that message."""

    name: str
    type: str
    values: Mapping[str, Any]
    secret_fields: frozenset[str] = frozenset()
    status: str = "ok"

    def secret_values(self) -> list[str]:
        """The secret fields' values that are set (what the masker must hide)."""
        return [
            value
            for name, value in self.values.items()
            if name in self.secret_fields and isinstance(value, str) and value
        ]


# `EngineServices.connection_refresher`: the connection a service refused -> a fresh copy
# (None: it cannot be refreshed).
ConnectionRefresher = Callable[[Connection], Awaitable[Connection | None]]


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """Where a node runs; templates see it as `execution.*` and `flow.*`."""

    execution_id: str = "local"
    attempt: int = 1
    flow_id: str = "local"
    flow_revision: int = 0
    depth: int = 0  # subflow nesting depth: 0 for a top-level execution


@dataclass(frozen=True, slots=True)
class SubflowParent:
    """What a subflow launcher knows about the caller."""

    execution: ExecutionInfo
    node_id: str


@runtime_checkable
class SubflowLauncher(Protocol):
    """Runs a child flow to its end and returns its output.

    Raises `SubflowError` when the child fails or cannot be started (the message should
    carry the child's error), `NodeTimeoutError` is the engine's business (node timeout).
    """

    async def run(self, flow_id: str, input: Any, parent: SubflowParent) -> Any: ...


class UnavailableSubflowLauncher:
    """The default launcher: without a server there is nothing to run a child flow on."""

    async def run(self, flow_id: str, input: Any, parent: SubflowParent) -> Any:
        raise SubflowError(
            f"cannot run subflow {flow_id!r}: subflows need a Flomation server "
            "(or a local launcher); `flomation run` alone has none",
            node_id=parent.node_id,
        )


@runtime_checkable
class EgressPolicy(Protocol):
    """Decides whether a node may connect to a URL; raises `BlockedError` when not.

    The concrete policies live in `flomation.engine.egress`.
    """

    async def check_url(self, url: str) -> None: ...


class AllowAllEgress:
    """The self-hosted default: every destination is allowed."""

    async def check_url(self, url: str) -> None:
        return None


@dataclass(slots=True)
class EngineServices:
    """Shared resources the runner provides to every node of an execution.

    Defaults make a standalone `flomation run` work: a lazily created httpx client, every
    destination allowed, no code runner (process nodes decide what that means) and a subflow
    launcher that fails clearly.
    """

    http_client: httpx.AsyncClient | None = None
    egress: EgressPolicy = field(default_factory=AllowAllEgress)
    # The isolation package's runner for python/shell nodes; its type belongs to
    # `flomation.engine.isolation`, which the base interface must not depend on.
    code_runner: Any = None
    subflow_launcher: SubflowLauncher = field(default_factory=UnavailableSubflowLauncher)
    # Asks for a new OAuth 2 token after a service refused the connection's (401): the
    # runner's goes to the API. None (a standalone run, tests): nobody can refresh.
    connection_refresher: ConnectionRefresher | None = None
    _owns_http: bool = False

    def http(self) -> httpx.AsyncClient:
        """The shared client; created on first use when the runner did not give one."""
        if self.http_client is None:
            self.http_client = httpx.AsyncClient(follow_redirects=False)
            self._owns_http = True
        return self.http_client

    async def refresh_connection(self, connection: Connection) -> Connection | None:
        """`connection` with a new access token, after a service answered 401 to its current
        one; None when nobody can refresh it (the node then reports the 401 as it is). The
        answer may say `needs_reconnect` (the provider refused to refresh)."""
        if self.connection_refresher is None:
            return None
        return await self.connection_refresher(connection)

    async def aclose(self) -> None:
        """Closes what these services created themselves (never a client given to them)."""
        if self._owns_http and self.http_client is not None:
            await self.http_client.aclose()
            self.http_client = None
            self._owns_http = False


# --------------------------------------------------------------------------- context


@dataclass(slots=True)
class NodeContext:
    """Everything one attempt of one node may use."""

    node_id: str
    node_type: str
    config: dict[str, Any]
    raw_config: dict[str, Any]
    execution: ExecutionInfo
    attempt: int
    log: LogFn
    services: EngineServices
    # The execution's input and `{node_id: {"output": ..., "error": ...}}` of nodes that ran
    # (plain JSON values, as templates see them).
    input: Any = None
    nodes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    # The connections the execution may use, by name (those its flow references).
    connections: Mapping[str, Connection] = field(default_factory=dict)
    # Ids of the sources whose edges into this node were taken for this visit (merge uses it).
    taken_from: Sequence[str] = ()
    # time.monotonic() value by which the attempt must end, or None for no limit.
    deadline: float | None = None
    visit: int = 1
    iteration: int | None = None
    # The `error` object in scope: in an error-port branch and in the on_error branch.
    error: Mapping[str, Any] | None = None
    # Renders a template value (any JSON) in this node's scope; set by the executor.
    render: Callable[[Any], Any] | None = None

    def remaining_s(self) -> float | None:
        """Seconds left before `deadline` (never negative), or None without a deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    def connection(self, accepted: Sequence[str] = ()) -> Connection:
        """The connection named by the raw config's `connection`, checked: it exists here,
        its type is one of `accepted` (any when empty) and it does not need reconnecting.
        Fails the node (never the runner) with a `ConfigError` / `AuthenticationError`."""
        name = self.raw_config.get("connection")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                "this node needs a connection (config `connection`)", field="connection"
            )
        connection = self.connections.get(name)
        if connection is None:
            raise ConfigError(
                f"connection {name!r} is not available to this execution "
                "(it does not exist, or this runner has no such connection)",
                field="connection",
            )
        if accepted and connection.type not in accepted:
            raise ConfigError(
                f"connection {name!r} is of type {connection.type!r}; this node takes "
                + " or ".join(repr(kind) for kind in accepted),
                field="connection",
            )
        if connection.status == "needs_reconnect":
            raise AuthenticationError(
                f"connection {name!r} needs reconnecting: its OAuth refresh failed; "
                "reconnect it in the editor",
                field="connection",
            )
        return connection


@dataclass(frozen=True, slots=True)
class NodeOutcome:
    """What a node produced and which output port it chose."""

    output: Any = None
    port: str = "success"


# --------------------------------------------------------------------------- node type


class NodeType:
    """Base class of every node type; registered instances are shared, so keep no state."""

    type: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    icon: ClassVar[str] = "box"
    group: ClassVar[str] = "other"
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    output_schema: ClassVar[dict[str, Any]] = {}
    ports: ClassVar[tuple[str, ...]] = DEFAULT_PORTS
    retryable: ClassVar[bool] = True
    pure: ClassVar[bool] = False
    # The connection types this node takes in `connection`; empty: it takes none.
    connection_types: ClassVar[tuple[str, ...]] = ()
    # Where the type is documented: an absolute URL, or a path in the Flomation repository
    # (`docs/...`, the editor resolves it against its docs base). None: `default_docs_url`.
    docs_url: ClassVar[str | None] = None

    def ports_for(self, config: Mapping[str, Any]) -> tuple[str, ...]:
        """The output ports for this (raw) config; override when they depend on it."""
        return self.ports

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Rules beyond the JSON schema, on the raw config: `[(field, message), ...]`."""
        return []

    def references(self, config: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
        """Names of (variables, secrets) read outside templates, from the raw config."""
        return frozenset(), frozenset()

    def connection_refs(self, config: Mapping[str, Any]) -> frozenset[str]:
        """Names of the connections this (raw) config uses; the API sends only those."""
        name = config.get("connection")
        return frozenset((name,)) if isinstance(name, str) and name else frozenset()

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The `GET /api/v1/node-types` item of this type."""
        return {
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "icon": self.icon,
            "group": self.group,
            "ports": list(self.ports),
            "config_schema": self.config_schema,
            "output_schema": self.output_schema,
            "connection_types": list(self.connection_types),
            "docs_url": self.docs_url or default_docs_url(self),
        }


# The sections of docs/flow-format.md that describe a built-in type at length.
_FLOW_FORMAT_SECTIONS = {
    "python": "python-and-shell",
    "shell": "python-and-shell",
    "subflow": "subflow",
    "foreach": "foreach-bodies",
}


def default_docs_url(node_type: NodeType) -> str | None:
    """The repository page of a built-in type: `docs/integrations/<service>.md` for a
    `<service>.<action>` type and `http`, else its section of docs/flow-format.md. A plugin's
    type has none unless it sets `docs_url`."""
    if not type(node_type).__module__.startswith("flomation."):
        return None
    name = node_type.type
    if "." in name or name == "http":
        return f"docs/integrations/{name.split('.', 1)[0]}.md"
    return f"docs/flow-format.md#{_FLOW_FORMAT_SECTIONS.get(name, 'built-in-node-types')}"
