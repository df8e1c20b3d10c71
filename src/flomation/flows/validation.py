"""Checking a flow definition before it is stored: the one place the flows domain asks the
engine whether a document is a valid flow.

The format and its rules belong to the engine (`flomation.engine.validation`), so they have
one source of truth; this module adds only what storing needs. Every problem is collected,
never just the first, each with where it is (`loc` inside the document) and, when it concerns
a node, that node's id and the field at fault, so the editor can point at it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flomation.connections.service import connection_uses
from flomation.engine.nodes.registry import NodeRegistry
from flomation.engine.validation import validate_definition

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth a warning) in a definition."""

    loc: Loc
    msg: str
    node_id: str | None = None
    field: str | None = None

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Problem:
        """From the engine's `{loc, msg, node_id?, field?}`."""
        return cls(tuple(item["loc"]), str(item["msg"]), item.get("node_id"), item.get("field"))

    def to_dict(self, prefix: Loc = ()) -> dict[str, Any]:
        """The `{loc, msg, node_id?, field?}` item of a problem+json `errors` list."""
        item: dict[str, Any] = {"loc": [*prefix, *self.loc], "msg": self.msg}
        if self.node_id is not None:
            item["node_id"] = self.node_id
        if self.field is not None:
            item["field"] = self.field
        return item


@dataclass(frozen=True, slots=True)
class DefinitionReport:
    errors: list[Problem]
    warnings: list[Problem]

    @property
    def valid(self) -> bool:
        return not self.errors


MAX_DEPTH = 100
"""Deepest nesting of objects and lists a definition may have (databases refuse far deeper
documents with an internal error; no flow needs more)."""


def check_definition(
    document: Any,
    *,
    known_secrets: set[str] | None = None,
    known_vars: set[str] | None = None,
    known_connections: Mapping[str, str] | None = None,
    registry: NodeRegistry | None = None,
) -> DefinitionReport:
    """Every problem of `document` as a flow definition: the engine's validation (format,
    node types and their configs, ports, graph rules, templates) plus what the databases
    cannot store. With the organisation's secret and variable names, references to missing
    ones are warnings; with its connections (`{name: type}`), a missing one is a warning and
    one of a type the node does not take is an error. `registry`: the organisation's node
    types (its imported OpenAPI services'), the default ones when None. Pure: no database,
    no side effects."""
    storage = _storage_problems(document)
    if any(problem.loc == () for problem in storage):
        return DefinitionReport(errors=storage, warnings=[])  # too deep to look inside safely
    report = validate_definition(
        document, registry=registry, known_secrets=known_secrets, known_vars=known_vars
    )
    errors = [Problem.of(item) for item in report.errors]
    errors.extend(storage)
    warnings = [Problem.of(item) for item in report.warnings]
    if isinstance(document, Mapping) and "save_data" in document:
        # Its place before it became a flow setting: kept like any unknown field, read by nothing.
        warnings.append(Problem(("save_data",), _SAVE_DATA_MOVED))
    if known_connections is not None:
        wrong_type, missing = connection_problems(document, known_connections, registry)
        errors.extend(wrong_type)
        warnings.extend(missing)
    return DefinitionReport(errors=_unique(errors), warnings=warnings)


_SAVE_DATA_MOVED = (
    "save_data is a flow setting (PATCH /api/v1/flows/{id}), not part of the definition: "
    "this one is ignored"
)


def connection_problems(
    document: Any, known_connections: Mapping[str, str], registry: NodeRegistry | None = None
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) about the connections nodes name, given the organisation's
    `{name: type}`: a connection whose type the node does not take is an error; a missing
    one only a warning, as for secrets (a runner may hold it itself)."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for use in connection_uses(document, registry):
        loc: Loc = ("nodes", use.index, "config", "connection")
        kind = known_connections.get(use.name)
        accepted = use.node_type.connection_types
        if kind is None:
            warnings.append(
                Problem(
                    loc,
                    f"connection {use.name!r} does not exist (a runner may hold it)",
                    use.node_id,
                    "connection",
                )
            )
        elif accepted and kind not in accepted:
            takes = " or ".join(repr(name) for name in accepted)
            errors.append(
                Problem(
                    loc,
                    f"node {use.node_id!r} ({use.node_type.type}) takes a connection of type "
                    f"{takes}; connection {use.name!r} is of type {kind!r}",
                    use.node_id,
                    "connection",
                )
            )
    return errors, warnings


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None. JSON can carry a NUL (`\\u0000`, which
    PostgreSQL refuses in text) and lone surrogates (`\\ud800`, which are not UTF-8)."""
    if "\x00" in text:
        return "may not contain NUL characters (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "may not contain unpaired surrogates (\\ud800-\\udfff)"
    return None


def _storage_problems(document: Any) -> list[Problem]:
    """Values JSON allows but the databases cannot store: NUL characters and unpaired
    surrogates in text, NaN and infinities, absurd nesting. Walks without recursion."""
    problems: list[Problem] = []
    stack: list[tuple[Loc, Any]] = [((), document)]
    while stack:
        loc, value = stack.pop()
        if len(loc) > MAX_DEPTH:
            return [Problem((), f"the definition is nested deeper than {MAX_DEPTH} levels")]
        if isinstance(value, dict):
            for key, item in value.items():
                wrong = text_problem(key) if isinstance(key, str) else None
                if wrong:
                    problems.append(_located(document, loc, f"a key {wrong}"))
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, index), item) for index, item in enumerate(value))
        elif isinstance(value, str) and (wrong := text_problem(value)):
            problems.append(_located(document, loc, f"text {wrong}"))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(_located(document, loc, "numbers must be finite (no NaN, Infinity)"))
    problems.sort(key=lambda problem: [str(part) for part in problem.loc])
    return problems


def _located(document: Any, loc: Loc, msg: str) -> Problem:
    """A problem whose loc points into `nodes[i]` names that node and the field inside it."""
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
        node_id = _node_id_at(document, loc[1])
        field = ".".join(str(part) for part in loc[2:]) or None
        return Problem(loc, msg, node_id=node_id, field=field)
    return Problem(loc, msg)


def _node_id_at(document: Any, index: int) -> str | None:
    if not isinstance(document, dict):
        return None
    nodes = document.get("nodes")
    if not isinstance(nodes, list) or index >= len(nodes) or not isinstance(nodes[index], dict):
        return None
    node_id = nodes[index].get("id")
    return node_id if isinstance(node_id, str) else None


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out: list[Problem] = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out
