import type { FlowDefinition, FlowEdge, FlowNode, JsonObject } from './format';
import { edgePort } from './ports';

export const NODE_ID_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

export function emptyDefinition(): FlowDefinition {
  return {
    version: 1,
    nodes: [{ id: 'start', type: 'start', position: { x: 0, y: 0 } }],
    edges: [],
  };
}

/** A fresh id from a type name, unique among `taken` (`http`, `http_2`, ...). */
export function uniqueNodeId(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  let stem = base
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .replace(/^[^a-z]+/, '');
  if (!stem) stem = 'node';
  stem = stem.slice(0, 56);
  if (!used.has(stem)) return stem;
  for (let n = 2; ; n += 1) {
    const candidate = `${stem}_${n}`;
    if (!used.has(candidate)) return candidate;
  }
}

export function sameEdge(a: FlowEdge, b: FlowEdge): boolean {
  return a.from === b.from && a.to === b.to && edgePort(a) === edgePort(b);
}

/** Nodes with an edge path into `nodeId` (not itself unless in a loop), nearest first. */
export function upstreamNodeIds(definition: FlowDefinition, nodeId: string): string[] {
  const incoming = new Map<string, string[]>();
  for (const edge of definition.edges) {
    const list = incoming.get(edge.to) ?? [];
    list.push(edge.from);
    incoming.set(edge.to, list);
  }
  const seen = new Set<string>();
  const order: string[] = [];
  let frontier = [nodeId];
  while (frontier.length) {
    const next: string[] = [];
    for (const id of frontier) {
      for (const source of incoming.get(id) ?? []) {
        if (seen.has(source)) continue;
        seen.add(source);
        order.push(source);
        next.push(source);
      }
    }
    frontier = next;
  }
  return order.filter((id) => id !== nodeId);
}

/** Whether `nodeId` is inside a foreach body (reachable from some `each` port). */
export function enclosingForeach(definition: FlowDefinition, nodeId: string): string | null {
  for (const edge of definition.edges) {
    if (edgePort(edge) !== 'each') continue;
    if (edge.to === nodeId || downstreamNodeIds(definition, edge.to).includes(nodeId)) return edge.from;
  }
  return null;
}

export function downstreamNodeIds(definition: FlowDefinition, nodeId: string): string[] {
  const outgoing = new Map<string, string[]>();
  for (const edge of definition.edges) {
    const list = outgoing.get(edge.from) ?? [];
    list.push(edge.to);
    outgoing.set(edge.from, list);
  }
  const seen = new Set<string>();
  const stack = [...(outgoing.get(nodeId) ?? [])];
  while (stack.length) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(outgoing.get(id) ?? []));
  }
  return [...seen];
}

/** Whether the node runs with `error` in scope (after an error port, or after on_error). */
export function inErrorBranch(definition: FlowDefinition, nodeId: string): boolean {
  const byId = new Map(definition.nodes.map((n) => [n.id, n]));
  for (const edge of definition.edges) {
    if (edgePort(edge) === 'error' && (edge.to === nodeId || downstreamNodeIds(definition, edge.to).includes(nodeId)))
      return true;
  }
  for (const node of definition.nodes) {
    if (node.type === 'on_error' && downstreamNodeIds(definition, node.id).includes(nodeId)) return true;
  }
  return byId.get(nodeId)?.type === 'on_error';
}

export function updateNode(
  definition: FlowDefinition,
  nodeId: string,
  patch: (node: FlowNode) => FlowNode,
): FlowDefinition {
  return { ...definition, nodes: definition.nodes.map((node) => (node.id === nodeId ? patch(node) : node)) };
}

export function setNodeConfig(definition: FlowDefinition, nodeId: string, config: JsonObject): FlowDefinition {
  return updateNode(definition, nodeId, (node) => ({ ...node, config }));
}

/**
 * Renames a node and its edges. Templates that mention `nodes.<old>` are rewritten too,
 * as n8n does when a node is renamed, so references keep working.
 */
export function renameNode(definition: FlowDefinition, oldId: string, newId: string): FlowDefinition {
  if (oldId === newId) return definition;
  const pattern = new RegExp(`\\bnodes\\.${oldId}\\b`, 'g');
  const rewrite = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replace(pattern, `nodes.${newId}`);
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    }
    return value;
  };
  return {
    ...definition,
    nodes: definition.nodes.map((node) => {
      const config = node.config ? (rewrite(node.config) as JsonObject) : node.config;
      const renamed = node.id === oldId ? { ...node, id: newId } : node;
      return config === node.config ? renamed : { ...renamed, config };
    }),
    edges: definition.edges.map((edge) => ({
      ...edge,
      from: edge.from === oldId ? newId : edge.from,
      to: edge.to === oldId ? newId : edge.to,
    })),
  };
}

export function removeNodes(definition: FlowDefinition, ids: Iterable<string>): FlowDefinition {
  const gone = new Set(ids);
  return {
    ...definition,
    nodes: definition.nodes.filter((node) => !gone.has(node.id)),
    edges: definition.edges.filter((edge) => !gone.has(edge.from) && !gone.has(edge.to)),
  };
}

/**
 * The edge that puts a node added while `source` is selected after it: from the first of
 * the source's ports (never `error`) that has no edge yet, else its first port. None when
 * the source has no outputs (return, fail) or the new node takes no input.
 */
export function edgeAfter(
  definition: FlowDefinition,
  sourceId: string,
  targetId: string,
  ports: readonly string[],
  targetTakesInput: boolean,
): FlowEdge | null {
  if (!targetTakesInput || sourceId === targetId) return null;
  const usable = ports.filter((port) => port !== 'error');
  if (!usable.length || !definition.nodes.some((n) => n.id === sourceId)) return null;
  const used = new Set(definition.edges.filter((e) => e.from === sourceId).map((e) => e.port ?? 'success'));
  const port = usable.find((p) => !used.has(p)) ?? usable[0];
  return { from: sourceId, to: targetId, port };
}
