"""The foreach node type: its body runs once per item (the executor drives the iterations)."""

from __future__ import annotations

from flomation.engine.nodes.base import ConfigError, NodeContext, NodeOutcome, NodeType

__all__ = ["MAX_PARALLELISM", "ForeachNode"]

MAX_PARALLELISM = 64


class ForeachNode(NodeType):
    type = "foreach"
    title = "For each"
    description = (
        "Runs the nodes on its `each` port once per item (`item`, `loop.index`, `loop.length` "
        "in scope), then continues on `done` with the results in item order."
    )
    icon = "repeat"
    group = "logic"
    config_schema = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "title": "Items",
                "description": "A template giving a list, e.g. {{ nodes.query.output.rows }}.",
            },
            "parallelism": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PARALLELISM,
                "default": 1,
                "title": "Parallelism",
                "description": f"How many items run at once (1 to {MAX_PARALLELISM}).",
            },
        },
        "required": ["items"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {"results": {"type": "array"}},
        "required": ["results"],
    }
    ports = ("each", "done", "error")
    retryable = False

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        # Iterations need the graph, so the executor runs them; a foreach reaching this method
        # was called outside an executor.
        raise ConfigError("foreach runs only inside the executor")
