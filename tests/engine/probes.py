"""A node type for tests that counts calls, overlaps, sleeps and fails on request."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from flomation.engine.nodes.base import (
    CodeError,
    NodeContext,
    NodeOutcome,
    NodeType,
    TemplateError,
)
from flomation.engine.nodes.registry import BUILTIN_TYPES, NodeRegistry
from flomation.engine.plan import FlowPlan


class Probe(NodeType):
    """Config: `sleep_s`, `fail_times` (fails its first N calls per key with a `code` error),
    `fail_type` ("code" or "template"), `output` (returned as is)."""

    type = "probe"
    title = "Probe"
    config_schema = {
        "type": "object",
        "properties": {
            "sleep_s": {"type": "number"},
            "fail_times": {"type": "integer"},
            "fail_type": {"enum": ["code", "template"]},
            "output": {},
        },
    }

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.running = 0
        self.max_running = 0
        self.cancelled: list[str] = []
        self.attempts_seen: list[int] = []

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        self.calls[ctx.node_id] += 1
        call = self.calls[ctx.node_id]
        self.attempts_seen.append(ctx.attempt)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(float(ctx.config.get("sleep_s", 0)))
        except asyncio.CancelledError:
            self.cancelled.append(ctx.node_id)
            raise
        finally:
            self.running -= 1
        if call <= int(ctx.config.get("fail_times", 0)):
            if ctx.config.get("fail_type") == "template":
                raise TemplateError("probe says: template")
            raise CodeError(f"probe failure {call}")
        return NodeOutcome(ctx.config.get("output", {"node": ctx.node_id}))


def probe_plan(doc: dict[str, Any]) -> tuple[FlowPlan, Probe]:
    probe = Probe()
    registry = NodeRegistry(BUILTIN_TYPES)
    registry.add(probe)
    return FlowPlan.from_document(doc, registry), probe
