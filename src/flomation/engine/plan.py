"""A flow prepared for running: validated once, graph structure and templates compiled once.

Build one `FlowPlan` per definition revision and reuse it for every execution of that
revision; the executor's hot path only looks things up in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flomation.engine.definition import FlowDefinition, NodeDef
from flomation.engine.expressions import compile_template, is_template
from flomation.engine.graph import Edge, GraphShape, Scope
from flomation.engine.nodes.base import ConfigError, NodeType, TemplateError
from flomation.engine.nodes.registry import NodeRegistry, default_registry
from flomation.engine.validation import (
    config_errors,
    runtime_validator,
    template_fields,
    validate_definition,
)

__all__ = ["CompiledConfig", "FlowPlan", "compile_value"]

Renderer = Callable[[dict[str, Any]], Any]


def compile_value(value: Any, path: str) -> Renderer | None:
    """A renderer for a JSON value whose strings are templates, or None when it is constant.

    Template failures raise `TemplateError` naming `path` (the config field).
    """
    if isinstance(value, str):
        if not is_template(value):
            return None
        source = value

        def render_string(scope: dict[str, Any]) -> Any:
            # Compiled on first use (and cached by source): a plan for a large flow is cheap
            # to build, and a branch that never runs never pays for its templates.
            try:
                return compile_template(source).render(scope)
            except TemplateError as exc:
                raise TemplateError(f"{path}: {exc.message}", field=path) from None

        return render_string
    if isinstance(value, dict):
        parts = [(key, sub, compile_value(sub, f"{path}.{key}")) for key, sub in value.items()]
        if all(renderer is None for _, _, renderer in parts):
            return None

        def render_mapping(scope: dict[str, Any]) -> Any:
            return {
                key: sub if renderer is None else renderer(scope) for key, sub, renderer in parts
            }

        return render_mapping
    if isinstance(value, list):
        items = [(sub, compile_value(sub, f"{path}.{i}")) for i, sub in enumerate(value)]
        if all(renderer is None for _, renderer in items):
            return None

        def render_list(scope: dict[str, Any]) -> Any:
            return [sub if renderer is None else renderer(scope) for sub, renderer in items]

        return render_list
    return None


# Schema keywords that do not constrain a value: a field with only these accepts anything.
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "x-template"})


def _accepts_rendered(subschema: Any, raw: Any) -> bool:
    """Whether any rendering of `raw` is sure to match `subschema` (so checking is wasted)."""
    if not isinstance(subschema, Mapping):
        return False
    keys = set(subschema) - _ANNOTATIONS
    if not keys:
        return True
    # Templates inside a mapping render to values, never keys: an object stays an object.
    return keys == {"type"} and subschema["type"] == "object" and isinstance(raw, dict)


@dataclass(frozen=True, slots=True)
class CompiledConfig:
    """A node's config with its templates compiled; `render(scope)` gives the rendered config.

    A rendered config is checked against the node type's schema when a template could have
    made it invalid (the raw config was checked when the definition was validated).
    """

    raw: dict[str, Any]
    renderer: Renderer | None
    node_type: NodeType
    check_rendered: bool = True

    @property
    def dynamic(self) -> bool:
        return self.renderer is not None

    def render(self, scope: dict[str, Any]) -> dict[str, Any]:
        if self.renderer is None:
            return self.raw
        config: dict[str, Any] = self.renderer(scope)
        if self.check_rendered:
            validator = runtime_validator(self.node_type)
            if not validator.is_valid(config):
                field, message = config_errors(validator, config)[0]
                where = f"config.{field}" if field else "config"
                raise ConfigError(f"{where} after templates: {message}", field=field or None)
        return config


def _compile_config(node: NodeDef, node_type: NodeType) -> CompiledConfig:
    skipped = template_fields(node_type)
    parts: list[tuple[str, Any, Renderer | None]] = [
        (key, value, None if key in skipped else compile_value(value, key))
        for key, value in node.config.items()
    ]
    if all(renderer is None for _, _, renderer in parts):
        return CompiledConfig(node.config, None, node_type)

    def render(scope: dict[str, Any]) -> Any:
        return {key: value if r is None else r(scope) for key, value, r in parts}

    properties = node_type.config_schema.get("properties", {})
    check = not all(
        _accepts_rendered(properties.get(key), value)
        for key, value, renderer in parts
        if renderer is not None
    )
    return CompiledConfig(node.config, render, node_type, check)


class FlowPlan:
    """Everything the executor needs about one definition, computed once."""

    def __init__(self, definition: FlowDefinition, registry: NodeRegistry) -> None:
        self.definition = definition
        self.registry = registry
        self.nodes: dict[str, NodeDef] = {node.id: node for node in definition.nodes}
        self.types: dict[str, NodeType] = {}
        for node in definition.nodes:
            node_type = registry.get(node.type)
            if node_type is None:
                raise ValueError(f"unknown node type {node.type!r}")
            self.types[node.id] = node_type
        self.shape = GraphShape(
            {node.id: node.type for node in definition.nodes},
            [(edge.from_, edge.to, edge.port) for edge in definition.edges],
        )
        self.edges: list[Edge] = self.shape.edges
        self.ports = {
            node_id: self.types[node_id].ports_for(node.config)
            for node_id, node in self.nodes.items()
        }
        self.configs = {
            node_id: _compile_config(node, self.types[node_id])
            for node_id, node in self.nodes.items()
        }
        keys = {"main", *self.shape.bodies}
        if self.shape.on_errors:
            keys.add("on_error")
        self.scopes: dict[str, Scope] = {key: self.shape.scope(key) for key in keys}
        self.timeout_s = definition.timeout_s
        self.start_config: Mapping[str, Any] = (
            self.nodes[self.shape.starts[0]].config if self.shape.starts else {}
        )

    @classmethod
    def from_document(cls, doc: Any, registry: NodeRegistry | None = None) -> FlowPlan:
        """Validates a definition document and prepares it; `InvalidDefinitionError` if bad."""
        registry = registry or default_registry()
        definition = validate_definition(doc, registry=registry).raise_for_errors()
        return cls(definition, registry)
