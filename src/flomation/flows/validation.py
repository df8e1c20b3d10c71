"""Checking a flow definition before it is stored: the one place the flows domain asks the
engine whether a document is a valid flow.

The shape comes from the engine's models (`flomation.engine.definition.FlowDefinition`), so
the format has one source of truth. Every problem is collected, never just the first, each
with where it is (`loc` inside the document) and, when it concerns a node, that node's id and
the field at fault, so the editor can point at it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from flomation.engine.definition import FlowDefinition

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or worth a warning) in a definition."""

    loc: Loc
    msg: str
    node_id: str | None = None
    field: str | None = None

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


def check_definition(document: Any) -> DefinitionReport:
    """Every problem of `document` as a flow definition. Pure: no database, no side effects."""
    storage = _storage_problems(document)
    if any(problem.loc == () for problem in storage):
        return DefinitionReport(errors=storage, warnings=[])  # too deep to look inside safely
    errors = _shape_problems(document)
    errors.extend(_graph_problems(document))
    errors.extend(storage)
    return DefinitionReport(errors=_unique(errors), warnings=[])


def _storage_problems(document: Any) -> list[Problem]:
    """Values JSON allows but the databases cannot store: NUL characters in text (PostgreSQL
    refuses them), NaN and infinities, absurd nesting. Walks without recursion."""
    problems: list[Problem] = []
    stack: list[tuple[Loc, Any]] = [((), document)]
    while stack:
        loc, value = stack.pop()
        if len(loc) > MAX_DEPTH:
            return [Problem((), f"the definition is nested deeper than {MAX_DEPTH} levels")]
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and "\x00" in key:
                    problems.append(_located(document, loc, "keys may not contain NUL (\\u0000)"))
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, index), item) for index, item in enumerate(value))
        elif isinstance(value, str) and "\x00" in value:
            problems.append(_located(document, loc, "text may not contain NUL (\\u0000)"))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(_located(document, loc, "numbers must be finite (no NaN, Infinity)"))
    problems.sort(key=lambda problem: [str(part) for part in problem.loc])
    return problems


def _shape_problems(document: Any) -> list[Problem]:
    try:
        FlowDefinition.model_validate(document)
    except ValidationError as exc:
        return [
            _located(document, tuple(error["loc"]), _message(error))
            for error in exc.errors(include_url=False)
        ]
    return []


def _message(error: Any) -> str:
    if error["type"] == "literal_error" and error["loc"] == ("version",):
        return "unsupported format version: this server reads version 1"
    return str(error["msg"])


def _graph_problems(document: Any) -> list[Problem]:
    """Node ids unique, edges between nodes that exist. Looks at whatever parts are well
    formed, so these problems are reported together with the shape problems."""
    if not isinstance(document, dict):
        return []
    nodes = document.get("nodes")
    edges = document.get("edges")
    problems: list[Problem] = []
    first_index: dict[str, int] = {}
    for index, node in enumerate(nodes if isinstance(nodes, list) else []):
        node_id = node.get("id") if isinstance(node, dict) else None
        if not isinstance(node_id, str):
            continue
        if node_id in first_index:
            problems.append(
                Problem(
                    ("nodes", index, "id"),
                    f"duplicate node id {node_id!r} (also nodes[{first_index[node_id]}])",
                    node_id=node_id,
                    field="id",
                )
            )
        else:
            first_index[node_id] = index
    for index, edge in enumerate(edges if isinstance(edges, list) else []):
        if not isinstance(edge, dict):
            continue
        for end in ("from", "to"):
            target = edge.get(end)
            if isinstance(target, str) and target and target not in first_index:
                problems.append(
                    Problem(("edges", index, end), f"edge {end} unknown node {target!r}")
                )
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
