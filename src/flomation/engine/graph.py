"""The structure of a flow's graph, computed once per definition.

Both validation and the executor use it: edges by node in definition order, back-edges (a
depth-first walk from `start`, then from `on_error`, following edges in their order), foreach
bodies, the scope each node belongs to and the loop region of each back-edge target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Edge", "GraphShape", "Scope"]


@dataclass(frozen=True, slots=True)
class Edge:
    index: int
    source: str
    target: str
    port: str
    back: bool = False


@dataclass(slots=True)
class Scope:
    """A part of the graph the executor runs as one unit.

    The main scope starts at `start`; the on_error scope at `on_error`; each foreach body is a
    scope whose entry edges are the foreach's `each` edges (taken when an iteration starts).
    """

    key: str  # "main", "on_error", or the foreach node's id
    members: list[str]
    entry_nodes: list[str]
    entry_edges: list[int]
    # Edges whose state the scope tracks: between members, plus the entry edges.
    edges: list[int]
    # Forward (non-back) incoming edges of each member, for readiness.
    forward_in: dict[str, list[int]]
    # Outgoing edges of each member that belong to this scope (a foreach's `each` edges do not).
    out: dict[str, list[int]]
    # Members without outgoing edges: the body's end nodes (iteration results).
    ends: list[str]
    regions: dict[str, tuple[frozenset[str], tuple[int, ...]]] = field(default_factory=dict)
    # Whether member nodes have edges on their `error` port (handled failures).
    error_ports: set[str] = field(default_factory=set)
    # How many forward edges of each member start pending (copied by every run of the scope).
    initial_pending: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.initial_pending = {n: len(self.forward_in[n]) for n in self.members}

    def region(self, target: str, edges: Sequence[Edge]) -> tuple[frozenset[str], tuple[int, ...]]:
        """The loop region of a back-edge target: it and its forward successors, and the edges
        among them. Computed on first use and kept."""
        found = self.regions.get(target)
        if found is not None:
            return found
        members = set(self.members)
        seen = {target}
        stack = [target]
        while stack:
            node = stack.pop()
            for index in self.out.get(node, ()):
                edge = edges[index]
                if not edge.back and edge.target in members and edge.target not in seen:
                    seen.add(edge.target)
                    stack.append(edge.target)
        inner = tuple(
            index
            for index in self.edges
            if not edges[index].back and edges[index].source in seen and edges[index].target in seen
        )
        found = (frozenset(seen), inner)
        self.regions[target] = found
        return found


class GraphShape:
    """Edges, back-edges, reachability, foreach bodies and scopes of one definition.

    `node_types` maps node id to type name; `edges` are (source, target, port) in definition
    order. Edges naming unknown nodes are ignored here (validation reports them).
    """

    def __init__(
        self,
        node_types: Mapping[str, str],
        edges: Iterable[tuple[str, str, str]],
    ) -> None:
        self.node_types = dict(node_types)
        raw = [(s, t, p) for s, t, p in edges if s in self.node_types and t in self.node_types]
        self.out_raw: dict[str, list[int]] = {n: [] for n in self.node_types}
        self.in_raw: dict[str, list[int]] = {n: [] for n in self.node_types}
        for index, (source, target, _port) in enumerate(raw):
            self.out_raw[source].append(index)
            self.in_raw[target].append(index)
        self.starts = [n for n, t in self.node_types.items() if t == "start"]
        self.on_errors = [n for n, t in self.node_types.items() if t == "on_error"]
        back = self._back_edges(raw)
        self.edges: list[Edge] = [Edge(i, s, t, p, i in back) for i, (s, t, p) in enumerate(raw)]
        self.reachable_from_start = self._reach(self.starts[:1])
        self.reachable_from_on_error = self._reach(self.on_errors[:1])
        self.bodies: dict[str, frozenset[str]] = {
            node: self._body(node) for node, kind in self.node_types.items() if kind == "foreach"
        }
        self.scope_of = self._innermost_scopes()

    # ------------------------------------------------------------------ structure

    def _back_edges(self, raw: Sequence[tuple[str, str, str]]) -> set[int]:
        """Iterative depth-first walk from start, then on_error, in edge order."""
        back: set[int] = set()
        state: dict[str, int] = {}  # 1 on the current path, 2 finished
        for root in self.starts[:1] + self.on_errors[:1]:
            if root in state:
                continue
            state[root] = 1
            stack: list[tuple[str, int]] = [(root, 0)]
            while stack:
                node, position = stack[-1]
                outgoing = self.out_raw[node]
                if position == len(outgoing):
                    state[node] = 2
                    stack.pop()
                    continue
                stack[-1] = (node, position + 1)
                index = outgoing[position]
                target = raw[index][1]
                seen = state.get(target)
                if seen == 1:
                    back.add(index)
                elif seen is None:
                    state[target] = 1
                    stack.append((target, 0))
        return back

    def _reach(self, roots: Iterable[str]) -> set[str]:
        seen = set(roots)
        stack = list(seen)
        while stack:
            node = stack.pop()
            for index in self.out_raw[node]:
                target = self.edges[index].target
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return seen

    def each_edges(self, foreach: str) -> list[int]:
        return [i for i in self.out_raw[foreach] if self.edges[i].port == "each"]

    def _body(self, foreach: str) -> frozenset[str]:
        return frozenset(self._reach([self.edges[i].target for i in self.each_edges(foreach)]))

    def _innermost_scopes(self) -> dict[str, str]:
        """For every node, the innermost foreach whose body holds it, else main/on_error."""
        scope_of: dict[str, str] = {}
        for node in self.node_types:
            if node in self.reachable_from_start or node not in self.reachable_from_on_error:
                scope_of[node] = "main"
            else:
                scope_of[node] = "on_error"
        # Smaller bodies are nested inside larger ones: assign largest first, smallest last.
        for foreach, body in sorted(self.bodies.items(), key=lambda item: -len(item[1])):
            for node in body:
                if node != foreach:
                    scope_of[node] = foreach
        return scope_of

    # ------------------------------------------------------------------ scopes

    def scope(self, key: str) -> Scope:
        """The scope with this key ("main", "on_error" or a foreach id)."""
        members = [n for n, s in self.scope_of.items() if s == key]
        member_set = set(members)
        entry_edges: list[int] = []
        entry_nodes: list[str] = []
        if key == "main":
            entry_nodes = self.starts[:1]
        elif key == "on_error":
            entry_nodes = self.on_errors[:1]
        else:
            entry_edges = self.each_edges(key)
        forward_in: dict[str, list[int]] = {n: [] for n in members}
        out: dict[str, list[int]] = {n: [] for n in members}
        scope_edges: list[int] = list(entry_edges)
        for edge in self.edges:
            if edge.source in member_set and edge.target in member_set:
                if edge.port == "each" and self.node_types[edge.source] == "foreach":
                    continue  # belongs to the nested body's scope
                out[edge.source].append(edge.index)
                scope_edges.append(edge.index)
                if not edge.back:
                    forward_in[edge.target].append(edge.index)
            elif edge.index in entry_edges:
                forward_in[edge.target].append(edge.index)
        for source in members:
            if self.node_types[source] == "foreach":
                # done/error edges leave the foreach inside its own scope; each-edges do not.
                out[source] = [i for i in self.out_raw[source] if self.edges[i].port != "each"]
        ends = [n for n in members if not out[n]]
        error_ports = {self.edges[i].source for i in scope_edges if self.edges[i].port == "error"}
        return Scope(
            key=key,
            members=members,
            entry_nodes=entry_nodes,
            entry_edges=entry_edges,
            edges=scope_edges,
            forward_in=forward_in,
            out=out,
            ends=ends,
            error_ports=error_ports,
        )

    def ancestors(self, node: str) -> set[str]:
        """Nodes from which `node` is reachable along forward edges (not `node` itself)."""
        seen: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            for index in self.in_raw[current]:
                edge = self.edges[index]
                if not edge.back and edge.source not in seen:
                    seen.add(edge.source)
                    stack.append(edge.source)
        seen.discard(node)
        return seen
