"""The subflow node type: runs another flow as a child execution and returns its output."""

from __future__ import annotations

from flomation.engine.nodes.base import (
    NodeContext,
    NodeOutcome,
    NodeType,
    SubflowError,
    SubflowParent,
)

__all__ = ["MAX_SUBFLOW_DEPTH", "SubflowNode"]

MAX_SUBFLOW_DEPTH = 10


class SubflowNode(NodeType):
    type = "subflow"
    title = "Subflow"
    description = "Runs the current revision of another flow with `input`; outputs its output."
    icon = "workflow"
    group = "flow"
    config_schema = {
        "type": "object",
        "properties": {
            "flow": {
                "type": "string",
                "minLength": 1,
                "title": "Flow",
                "description": "The child flow's id.",
            },
            "input": {
                "title": "Input",
                "description": "The child execution's input (any JSON; strings are templates).",
            },
        },
        "required": ["flow"],
        "additionalProperties": False,
    }
    output_schema = {"description": "The child execution's output."}

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        if ctx.execution.depth >= MAX_SUBFLOW_DEPTH:
            raise SubflowError(f"subflows are nested deeper than {MAX_SUBFLOW_DEPTH} levels")
        parent = SubflowParent(execution=ctx.execution, node_id=ctx.node_id)
        output = await ctx.services.subflow_launcher.run(
            ctx.config["flow"], ctx.config.get("input"), parent
        )
        return NodeOutcome(output)
