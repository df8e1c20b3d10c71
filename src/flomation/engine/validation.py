"""Validation of flow definitions: every problem at once, each saying where it is.

`validate_definition(doc)` is what the API calls on `POST /api/v1/flows/validate` and on every
save; the executor refuses definitions it reports errors for. Problems are
`{"loc": [...], "msg": "...", "node_id"?: ..., "field"?: ...}`; warnings (a secret the API
does not hold, a reference to a node that does not exist) never make a definition invalid.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from pydantic import ValidationError

from flomation.engine.definition import EdgeDef, FlowDefinition, NodeDef
from flomation.engine.expressions import (
    TemplateReferences,
    is_template,
    parse_template,
    template_references,
)
from flomation.engine.graph import GraphShape
from flomation.engine.nodes.base import NodeType
from flomation.engine.nodes.registry import NodeRegistry, default_registry

__all__ = [
    "InvalidDefinitionError",
    "Problem",
    "ValidationReport",
    "referenced_names",
    "template_fields",
    "validate_definition",
]

Problem = dict[str, Any]


class InvalidDefinitionError(ValueError):
    """A definition with validation errors was given to something that needs a valid one."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        lines = "; ".join(_describe(p) for p in report.errors[:10])
        more = f" (and {len(report.errors) - 10} more)" if len(report.errors) > 10 else ""
        super().__init__(f"invalid flow definition: {lines}{more}")


def _describe(problem: Problem) -> str:
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}"


@dataclass(slots=True)
class ValidationReport:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    definition: FlowDefinition | None = None
    referenced_vars: set[str] = field(default_factory=set)
    referenced_secrets: set[str] = field(default_factory=set)

    @property
    def valid(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> FlowDefinition:
        """The parsed definition, or `InvalidDefinitionError` listing the errors."""
        if self.errors or self.definition is None:
            raise InvalidDefinitionError(self)
        return self.definition


def _problem(
    loc: list[Any], msg: str, node_id: str | None = None, field_name: str | None = None
) -> Problem:
    problem: Problem = {"loc": loc, "msg": msg}
    if node_id is not None:
        problem["node_id"] = node_id
    if field_name is not None:
        problem["field"] = field_name
    return problem


def _pydantic_problems(
    exc: ValidationError, prefix: list[Any], node_id: str | None = None
) -> list[Problem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = [*prefix, *error["loc"]]
        field_name = ".".join(str(p) for p in error["loc"]) or None
        problems.append(_problem(loc, error["msg"], node_id, field_name))
    return problems


# --------------------------------------------------------------------------- config schemas


def _non_template_fields(schema: Mapping[str, Any]) -> frozenset[str]:
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        return frozenset()
    return frozenset(
        name
        for name, sub in properties.items()
        if isinstance(sub, Mapping) and sub.get("x-template") is False
    )


def template_fields(node_type: NodeType) -> frozenset[str]:
    """Top-level config fields of a type that are NOT templates (`"x-template": false`)."""
    return _non_template_fields(node_type.config_schema)


def _skip_templates(
    check: Any,
) -> Any:
    """Wraps a jsonschema keyword: a template string may become any value, so it passes."""

    def keyword(
        validator: Validator, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[jsonschema.ValidationError]:
        if isinstance(instance, str) and is_template(instance):
            return iter(())
        result: Iterator[jsonschema.ValidationError] | None = check(
            validator, value, instance, schema
        )
        return iter(result or ())

    return keyword


_TEMPLATE_AWARE_KEYWORDS = (
    "type",
    "enum",
    "const",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
)

_TemplateAwareValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        name: _skip_templates(Draft202012Validator.VALIDATORS[name])
        for name in _TEMPLATE_AWARE_KEYWORDS
    },
)


@lru_cache(maxsize=512)
def _static_validator(node_type: NodeType) -> Validator:
    return _TemplateAwareValidator(node_type.config_schema)  # type: ignore[no-any-return]


@lru_cache(maxsize=512)
def runtime_validator(node_type: NodeType) -> Validator:
    """The strict validator for a rendered config (cached per node type)."""
    return Draft202012Validator(node_type.config_schema)


def config_errors(validator: Validator, config: Any) -> list[tuple[str, str]]:
    """`(field, message)` of every schema violation, `field` dotted (empty for the whole)."""
    return [
        (".".join(str(p) for p in error.absolute_path), error.message)
        for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    ]


# --------------------------------------------------------------------------- templates


def _walk_strings(value: Any, path: list[Any]) -> Iterator[tuple[list[Any], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from _walk_strings(sub, [*path, key])
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _walk_strings(sub, [*path, index])


@lru_cache(maxsize=8192)
def _analyse_template(text: str) -> tuple[TemplateReferences | None, str | None]:
    """What a template references, or why it does not parse (cached: flows repeat them)."""
    try:
        tree = parse_template(text)
    except Exception as exc:
        lineno = getattr(exc, "lineno", None)
        message = getattr(exc, "message", None) or str(exc)
        where = f" (line {lineno})" if lineno else ""
        return None, f"template does not parse: {message}{where}"
    return template_references(tree), None


@dataclass(slots=True)
class _TemplateScan:
    vars: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    nodes: dict[str, list[tuple[list[Any], str, str]]] = field(default_factory=dict)


def _scan_templates(
    node: NodeDef,
    index: int,
    node_type: NodeType | None,
    errors: list[Problem],
    scan: _TemplateScan,
) -> None:
    skipped = template_fields(node_type) if node_type else frozenset()
    for name, value in node.config.items():
        if name in skipped:
            continue
        for path, text in _walk_strings(value, [name]):
            if not is_template(text):
                continue
            loc = ["nodes", index, "config", *path]
            field_name = ".".join(str(p) for p in path)
            refs, syntax_error = _analyse_template(text)
            if refs is None:
                errors.append(_problem(loc, syntax_error or "", node.id, field_name))
                continue
            for message in refs.problems:
                errors.append(_problem(loc, message, node.id, field_name))
            scan.vars |= refs.vars
            scan.secrets |= refs.secrets
            for ref in refs.nodes:
                scan.nodes.setdefault(ref, []).append((loc, field_name, node.id))


# --------------------------------------------------------------------------- the checks


def _parse_parts(
    doc: Any, errors: list[Problem], unparsed: set[str]
) -> tuple[list[tuple[int, NodeDef]], list[tuple[int, EdgeDef]], FlowDefinition | None]:
    """Parses nodes and edges one by one so that one bad node does not hide the others."""
    if not isinstance(doc, dict):
        errors.append(_problem([], "a flow definition must be a JSON object"))
        return [], [], None
    nodes: list[tuple[int, NodeDef]] = []
    edges: list[tuple[int, EdgeDef]] = []
    raw_nodes = doc.get("nodes", [])
    raw_edges = doc.get("edges", [])
    for name, raw in (("nodes", raw_nodes), ("edges", raw_edges)):
        if not isinstance(raw, list):
            errors.append(_problem([name], "must be a list"))
    if isinstance(raw_nodes, list):
        for index, raw in enumerate(raw_nodes):
            node_id = raw.get("id") if isinstance(raw, dict) else None
            try:
                nodes.append((index, NodeDef.model_validate(raw)))
            except ValidationError as exc:
                if isinstance(node_id, str):
                    unparsed.add(node_id)  # its edges are not reported as dangling as well
                errors.extend(
                    _pydantic_problems(
                        exc, ["nodes", index], node_id if isinstance(node_id, str) else None
                    )
                )
    if isinstance(raw_edges, list):
        for index, raw in enumerate(raw_edges):
            try:
                edges.append((index, EdgeDef.model_validate(raw)))
            except ValidationError as exc:
                errors.extend(_pydantic_problems(exc, ["edges", index]))
    top = {k: v for k, v in doc.items() if k not in ("nodes", "edges")}
    definition = None
    try:
        settings = FlowDefinition.model_validate({**top, "nodes": [], "edges": []})
    except ValidationError as exc:
        errors.extend(_pydantic_problems(exc, []))
    else:
        definition = settings.model_copy(
            update={"nodes": [n for _, n in nodes], "edges": [e for _, e in edges]}
        )
    return nodes, edges, definition


def _check_nodes(
    nodes: list[tuple[int, NodeDef]],
    registry: NodeRegistry,
    errors: list[Problem],
    scan: _TemplateScan,
) -> dict[str, tuple[int, NodeDef, NodeType | None]]:
    by_id: dict[str, tuple[int, NodeDef, NodeType | None]] = {}
    for index, node in nodes:
        loc = ["nodes", index]
        if node.id in by_id:
            first = by_id[node.id][0]
            errors.append(
                _problem([*loc, "id"], f"duplicate node id (also nodes[{first}])", node.id, "id")
            )
            continue
        node_type = registry.get(node.type)
        by_id[node.id] = (index, node, node_type)
        if node_type is None:
            known = ", ".join(sorted(registry.names()))
            errors.append(
                _problem(
                    [*loc, "type"],
                    f"unknown node type {node.type!r} (known: {known})",
                    node.id,
                    "type",
                )
            )
        else:
            for field_name, message in config_errors(_static_validator(node_type), node.config):
                path = field_name.split(".") if field_name else []
                errors.append(
                    _problem([*loc, "config", *path], message, node.id, field_name or "config")
                )
            for field_name, message in node_type.check_config(node.config):
                errors.append(
                    _problem([*loc, "config", *field_name.split(".")], message, node.id, field_name)
                )
            extra_vars, extra_secrets = node_type.references(node.config)
            scan.vars |= extra_vars
            scan.secrets |= extra_secrets
        _scan_templates(node, index, node_type, errors, scan)
    return by_id


def _check_edges(
    edges: list[tuple[int, EdgeDef]],
    by_id: Mapping[str, tuple[int, NodeDef, NodeType | None]],
    errors: list[Problem],
    unparsed: set[str],
) -> list[tuple[str, str, str]]:
    valid: list[tuple[str, str, str]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, edge in edges:
        loc = ["edges", index]
        ok = True
        for end, name in (("from", edge.from_), ("to", edge.to)):
            if name not in by_id:
                if name not in unparsed:
                    errors.append(_problem([*loc, end], f"no node with id {name!r}"))
                ok = False
        if not ok:
            continue
        _, source, source_type = by_id[edge.from_]
        _, target, _target_type = by_id[edge.to]
        if source_type is not None:
            ports = source_type.ports_for(source.config)
            if edge.port not in ports:
                have = ", ".join(ports) if ports else "no output ports"
                errors.append(
                    _problem(
                        [*loc, "port"],
                        f"node {edge.from_!r} ({source.type}) has no port {edge.port!r} "
                        f"(it has: {have})",
                        edge.from_,
                    )
                )
                # Still counted for reachability: the edge shows what the author meant.
        if target.type in ("start", "on_error"):
            errors.append(
                _problem([*loc, "to"], f"a {target.type} node cannot have incoming edges", edge.to)
            )
            ok = False
        key = (edge.from_, edge.to, edge.port)
        if key in seen:
            errors.append(_problem(loc, f"duplicate of edges[{seen[key]}]", edge.from_))
            ok = False
        seen[key] = index
        if ok:
            valid.append(key)
    return valid


def _check_graph(
    by_id: Mapping[str, tuple[int, NodeDef, NodeType | None]],
    shape: GraphShape,
    errors: list[Problem],
) -> None:
    starts, on_errors = shape.starts, shape.on_errors
    if len(starts) != 1:
        where = ", ".join(starts) if starts else "none"
        errors.append(_problem(["nodes"], f"a flow needs exactly one start node (found: {where})"))
    if len(on_errors) > 1:
        errors.append(
            _problem(
                ["nodes"], f"at most one on_error node is allowed (found: {', '.join(on_errors)})"
            )
        )
    if starts:
        for node_id, (index, _node, _type) in by_id.items():
            if node_id not in shape.reachable_from_start and node_id not in (
                shape.reachable_from_on_error
            ):
                errors.append(
                    _problem(["nodes", index], "not reachable from the start node", node_id)
                )
        joined = shape.reachable_from_start & shape.reachable_from_on_error
        for node_id in sorted(joined, key=lambda n: by_id[n][0]):
            errors.append(
                _problem(
                    ["nodes", by_id[node_id][0]],
                    "the on_error branch may not join the main graph",
                    node_id,
                )
            )
    for foreach, body in shape.bodies.items():
        # The body is everything reachable from the each port, so a body that connects to an
        # outside node pulls it in: the problem then shows as an edge entering the body.
        each = set(shape.each_edges(foreach))
        if foreach in body:
            errors.append(
                _problem(
                    ["nodes", by_id[foreach][0]],
                    f"the body of foreach {foreach!r} leads back to the foreach itself",
                    foreach,
                )
            )
        for edge in shape.edges:
            if edge.index in each or edge.source in body or edge.target not in body:
                continue
            errors.append(
                _problem(
                    ["edges", edge.index],
                    f"edge {edge.source!r} -> {edge.target!r} enters the body of foreach "
                    f"{foreach!r}: a body is entered only through the each port and may not "
                    "connect to nodes outside it",
                    edge.target,
                )
            )
        for node_id in body:
            if by_id[node_id][1].type == "return":
                errors.append(
                    _problem(
                        ["nodes", by_id[node_id][0]],
                        f"a return node may not be inside the body of foreach {foreach!r}",
                        node_id,
                    )
                )


def validate_definition(
    doc: Any,
    *,
    registry: NodeRegistry | None = None,
    known_secrets: set[str] | None = None,
    known_vars: set[str] | None = None,
) -> ValidationReport:
    """Checks a definition document and reports every problem at once.

    With `known_secrets`/`known_vars` (the organisation's names), references to names that do
    not exist are warnings (a runner may hold a secret locally).
    """
    registry = registry or default_registry()
    report = ValidationReport()
    errors = report.errors
    unparsed: set[str] = set()
    nodes, edges, definition = _parse_parts(doc, errors, unparsed)
    scan = _TemplateScan()
    by_id = _check_nodes(nodes, registry, errors, scan)
    valid_edges = _check_edges(edges, by_id, errors, unparsed)
    shape = GraphShape({n: node.type for n, (_, node, _) in by_id.items()}, valid_edges)
    _check_graph(by_id, shape, errors)
    for ref, places in scan.nodes.items():
        if ref not in by_id:
            for loc, field_name, node_id in places:
                report.warnings.append(
                    _problem(
                        loc, f"refers to node {ref!r}, which does not exist", node_id, field_name
                    )
                )
    report.referenced_vars = scan.vars
    report.referenced_secrets = scan.secrets
    if known_secrets is not None:
        for name in sorted(scan.secrets - known_secrets):
            report.warnings.append(
                _problem(["secrets", name], f"secret {name!r} is not set (a runner may hold it)")
            )
    if known_vars is not None:
        for name in sorted(scan.vars - known_vars):
            report.warnings.append(_problem(["vars", name], f"variable {name!r} is not set"))
    report.definition = definition
    return report


def referenced_names(
    doc: Any, *, registry: NodeRegistry | None = None
) -> tuple[set[str], set[str]]:
    """(variable names, secret names) a definition references: what the API sends a runner."""
    report = validate_definition(doc, registry=registry)
    return report.referenced_vars, report.referenced_secrets
