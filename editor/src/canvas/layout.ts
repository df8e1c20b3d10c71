import dagre from '@dagrejs/dagre';
import type { FlowDefinition, FlowEdge } from '../flow/format';
import { downstreamNodeIds } from '../flow/graph';
import { edgePort, outputPorts } from '../flow/ports';

export const DEFAULT_NODE_SIZE = { width: 200, height: 72 };

/** A port's rank among its node's ports (true before false, each before done); unknown ports last. */
function portRank(definition: FlowDefinition): (edge: FlowEdge) => number {
  const byId = new Map(definition.nodes.map((node) => [node.id, node]));
  return (edge) => {
    const source = byId.get(edge.from);
    const ports = source ? outputPorts(source) : [];
    const index = ports.indexOf(edgePort(edge));
    return index === -1 ? ports.length : index;
  };
}

/** Node ids breadth-first from the nodes without incoming edges, each node's targets in port order. */
function portOrder(definition: FlowDefinition, edges: readonly FlowEdge[]): string[] {
  const incoming = new Set(edges.map((e) => e.to));
  const queue = definition.nodes.filter((n) => !incoming.has(n.id)).map((n) => n.id);
  const seen = new Set<string>();
  const order: string[] = [];
  while (queue.length) {
    const id = queue.shift() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    order.push(id);
    for (const edge of edges) if (edge.from === id) queue.push(edge.to);
  }
  for (const node of definition.nodes) if (!seen.has(node.id)) order.push(node.id);
  return order;
}

/**
 * Left-to-right layered layout (dagre), keeping port order: the targets of one node's ports
 * are fed in that order and, where dagre's crossing reduction still swaps two of them in one
 * column, put back top to bottom (true above false), each with what follows only from it.
 */
export function autoLayout(
  definition: FlowDefinition,
  sizes: Readonly<Record<string, { width: number; height: number }>> = {},
  onlyIds?: ReadonlySet<string>,
): FlowDefinition {
  const rank = portRank(definition);
  // Edges in their stored order, except that one node's edges go in port order.
  const firstOf = new Map<string, number>();
  definition.edges.forEach((edge, index) => {
    if (!firstOf.has(edge.from)) firstOf.set(edge.from, index);
  });
  const edges = definition.edges
    .map((edge, index) => ({ edge, index, group: firstOf.get(edge.from) ?? index }))
    .sort((a, b) => a.group - b.group || rank(a.edge) - rank(b.edge) || a.index - b.index);
  const sortedEdges = edges.map((e) => e.edge);
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 80, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  const known = new Set(definition.nodes.map((n) => n.id));
  const order = portOrder(
    definition,
    sortedEdges.filter((e) => known.has(e.from) && known.has(e.to)),
  );
  for (const id of order) graph.setNode(id, { ...(sizes[id] ?? DEFAULT_NODE_SIZE) });
  for (const { edge, index } of edges) {
    if (known.has(edge.from) && known.has(edge.to)) graph.setEdge(edge.from, edge.to, {}, String(index));
  }
  dagre.layout(graph);
  const centre = new Map(order.map((id) => [id, { x: graph.node(id).x, y: graph.node(id).y }]));
  keepPortOrder(definition, sortedEdges, order, centre);
  return {
    ...definition,
    nodes: definition.nodes.map((node) => {
      if (onlyIds && !onlyIds.has(node.id)) return node;
      const laid = centre.get(node.id) ?? { x: 0, y: 0 };
      const size = sizes[node.id] ?? DEFAULT_NODE_SIZE;
      return { ...node, position: { x: Math.round(laid.x - size.width / 2), y: Math.round(laid.y - size.height / 2) } };
    }),
  };
}

/** Swaps back the rows of a node's port targets that dagre put out of port order (in place). */
function keepPortOrder(
  definition: FlowDefinition,
  edges: readonly FlowEdge[],
  order: readonly string[],
  centre: Map<string, { x: number; y: number }>,
): void {
  const incoming = new Map<string, number>();
  for (const edge of edges) incoming.set(edge.to, (incoming.get(edge.to) ?? 0) + 1);
  for (const source of order) {
    // Targets fed only by this node, one per port, in port order, in one column.
    const targets: string[] = [];
    for (const edge of edges) {
      if (edge.from !== source || incoming.get(edge.to) !== 1 || targets.includes(edge.to)) continue;
      targets.push(edge.to);
    }
    const columns = new Set(targets.map((id) => Math.round(centre.get(id)?.x ?? 0)));
    if (targets.length < 2 || columns.size !== 1) continue;
    const ys = targets.map((id) => centre.get(id)?.y ?? 0);
    const sorted = [...ys].sort((a, b) => a - b);
    if (ys.every((y, i) => y === sorted[i])) continue;
    // Each target moves with what is downstream of it alone.
    const below = targets.map((id) => new Set([id, ...downstreamNodeIds(definition, id)]));
    targets.forEach((_id, i) => {
      const dy = sorted[i] - ys[i];
      const others = below.filter((_set, j) => j !== i);
      for (const id of below[i]) {
        if (others.some((set) => set.has(id))) continue;
        const at = centre.get(id);
        if (at) centre.set(id, { x: at.x, y: at.y + dy });
      }
    });
  }
}

/** Whether some node has no stored position (then the editor lays the flow out on open). */
export function needsLayout(definition: FlowDefinition): boolean {
  return definition.nodes.some((node) => !node.position);
}

/** The first spot at or below `at` where a node of default size covers none of `occupied`. */
export function freeSpot(
  occupied: readonly { x: number; y: number }[],
  at: { x: number; y: number },
): { x: number; y: number } {
  const { width, height } = DEFAULT_NODE_SIZE;
  const overlaps = (x: number, y: number) =>
    occupied.some((p) => Math.abs(p.x - x) < width && Math.abs(p.y - y) < height);
  let y = at.y;
  for (let tries = 0; tries < 50 && overlaps(at.x, y); tries += 1) y += height + 20;
  return { x: at.x, y };
}
