"""Running flows without a server: a subflow launcher over definitions held in memory."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flomation.engine.events import EventSink
from flomation.engine.executor import Executor
from flomation.engine.nodes.base import (
    Connection,
    EngineServices,
    ExecutionInfo,
    SubflowError,
    SubflowParent,
)
from flomation.engine.nodes.registry import NodeRegistry
from flomation.engine.plan import FlowPlan
from flomation.engine.validation import InvalidDefinitionError
from flomation.protocol.statuses import ExecutionStatus

__all__ = ["LocalSubflowLauncher"]


class LocalSubflowLauncher:
    """Runs child flows in this process from `{flow_id: definition}` (e.g. `flomation run
    --flows-dir`). Children share the parent's services, variables, secrets and connections."""

    def __init__(
        self,
        flows: Mapping[str, Any],
        *,
        services: EngineServices | None = None,
        registry: NodeRegistry | None = None,
        variables: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        sink: EventSink | None = None,
        connections: Mapping[str, Connection] | None = None,
    ) -> None:
        self.flows = dict(flows)
        # Children run with these services; without any given, with ones whose launcher is
        # this one, so that grandchildren work too.
        self.services = services or EngineServices(subflow_launcher=self)
        self.registry = registry
        self.variables = variables or {}
        self.secrets = secrets or {}
        self.connections = connections or {}
        self.sink = sink
        self._plans: dict[str, FlowPlan] = {}

    def _plan(self, flow_id: str) -> FlowPlan:
        plan = self._plans.get(flow_id)
        if plan is None:
            if flow_id not in self.flows:
                raise SubflowError(f"no flow {flow_id!r} to run as a subflow")
            try:
                plan = FlowPlan.from_document(self.flows[flow_id], self.registry)
            except InvalidDefinitionError as exc:
                raise SubflowError(f"flow {flow_id!r}: {exc}") from None
            self._plans[flow_id] = plan
        return plan

    async def run(self, flow_id: str, input: Any, parent: SubflowParent) -> Any:
        plan = self._plan(flow_id)
        execution = ExecutionInfo(
            execution_id=str(uuid.uuid4()),
            attempt=1,
            flow_id=flow_id,
            flow_revision=0,
            depth=parent.execution.depth + 1,
        )
        executor = Executor(
            plan,
            services=self.services,
            sink=self.sink,
            execution=execution,
            variables=self.variables,
            secrets=self.secrets,
            connections=self.connections,
        )
        result = await executor.run(input)
        if result.status != ExecutionStatus.SUCCEEDED:
            message = (result.error or {}).get("message", result.status)
            raise SubflowError(f"subflow {flow_id!r} ended {result.status}: {message}")
        return result.output
