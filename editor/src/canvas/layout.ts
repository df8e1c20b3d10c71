import dagre from '@dagrejs/dagre';
import type { FlowDefinition } from '../flow/format';

export const DEFAULT_NODE_SIZE = { width: 200, height: 72 };

/** Left-to-right layered layout (dagre); edges keep their order as dagre's input order. */
export function autoLayout(
  definition: FlowDefinition,
  sizes: Readonly<Record<string, { width: number; height: number }>> = {},
  onlyIds?: ReadonlySet<string>,
): FlowDefinition {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 80, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of definition.nodes) {
    graph.setNode(node.id, { ...(sizes[node.id] ?? DEFAULT_NODE_SIZE) });
  }
  definition.edges.forEach((edge, index) => {
    if (graph.hasNode(edge.from) && graph.hasNode(edge.to)) graph.setEdge(edge.from, edge.to, {}, String(index));
  });
  dagre.layout(graph);
  return {
    ...definition,
    nodes: definition.nodes.map((node) => {
      if (onlyIds && !onlyIds.has(node.id)) return node;
      const laid = graph.node(node.id);
      const size = sizes[node.id] ?? DEFAULT_NODE_SIZE;
      return { ...node, position: { x: Math.round(laid.x - size.width / 2), y: Math.round(laid.y - size.height / 2) } };
    }),
  };
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
