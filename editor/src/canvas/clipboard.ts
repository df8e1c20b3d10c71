import type { FlowDefinition, FlowEdge, FlowNode } from '../flow/format';
import { uniqueNodeId } from '../flow/graph';

/** What copy puts on the clipboard: the selected nodes and the edges among them. */
export interface Clip {
  kind: 'flomation/nodes';
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export function copySelection(definition: FlowDefinition, ids: ReadonlySet<string>): Clip {
  return {
    kind: 'flomation/nodes',
    nodes: definition.nodes.filter((node) => ids.has(node.id) && node.type !== 'start'),
    edges: definition.edges.filter((edge) => ids.has(edge.from) && ids.has(edge.to)),
  };
}

export function parseClip(text: string): Clip | null {
  try {
    const parsed = JSON.parse(text) as Partial<Clip>;
    return parsed.kind === 'flomation/nodes' && Array.isArray(parsed.nodes) && Array.isArray(parsed.edges)
      ? (parsed as Clip)
      : null;
  } catch {
    return null;
  }
}

/**
 * Adds the clip's nodes with fresh ids (and their inner edges), shifted so they do not
 * cover the originals. Returns the new definition and the new ids, to select them.
 */
export function pasteClip(
  definition: FlowDefinition,
  clip: Clip,
  offset = { x: 40, y: 40 },
): { definition: FlowDefinition; ids: string[] } {
  const taken = new Set(definition.nodes.map((node) => node.id));
  const rename = new Map<string, string>();
  const nodes = clip.nodes
    // Only one start and one on_error per flow.
    .filter((node) => !(node.type === 'on_error' && definition.nodes.some((n) => n.type === 'on_error')))
    .map((node) => {
      const id = uniqueNodeId(node.id, taken);
      taken.add(id);
      rename.set(node.id, id);
      const position = node.position ?? { x: 0, y: 0 };
      return { ...structuredClone(node), id, position: { x: position.x + offset.x, y: position.y + offset.y } };
    });
  const edges = clip.edges
    .filter((edge) => rename.has(edge.from) && rename.has(edge.to))
    .map((edge) => ({ ...edge, from: rename.get(edge.from) as string, to: rename.get(edge.to) as string }));
  return {
    definition: { ...definition, nodes: [...definition.nodes, ...nodes], edges: [...definition.edges, ...edges] },
    ids: nodes.map((node) => node.id),
  };
}
