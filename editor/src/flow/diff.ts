import type { FlowDefinition, FlowEdge, FlowNode } from './format';
import type { FlowDiff } from '../api/models';
import { edgePort } from './ports';
import { sameEdge } from './graph';

export type DiffStatus = 'added' | 'removed' | 'changed' | 'unchanged';

export interface DiffGraph {
  /** `to`'s definition with the nodes and edges removed since `from` put back in. */
  definition: FlowDefinition;
  nodeStatus: Map<string, DiffStatus>;
  /** Changed fields per changed node. */
  changedFields: Map<string, string[]>;
  /** Status per edge index of `definition.edges`. */
  edgeStatus: DiffStatus[];
  settingsChanged: string[];
}

/** The changed fields of each changed node. */
export function changedNodes(diff: FlowDiff): Map<string, string[]> {
  return new Map(diff.nodes.changed.map((entry) => [entry.id, entry.fields]));
}

/**
 * One graph that shows a diff on the canvas: everything of `to`, plus what `from` had that
 * `to` removed (drawn where it was in `from`), each marked added/removed/changed.
 */
export function buildDiffGraph(from: FlowDefinition, to: FlowDefinition, diff: FlowDiff): DiffGraph {
  const added = new Set(diff.nodes.added);
  const removed = new Set(diff.nodes.removed);
  const changed = changedNodes(diff);
  const nodeStatus = new Map<string, DiffStatus>();
  const nodes: FlowNode[] = [];
  for (const node of to.nodes) {
    nodes.push(node);
    nodeStatus.set(node.id, added.has(node.id) ? 'added' : changed.has(node.id) ? 'changed' : 'unchanged');
  }
  for (const node of from.nodes) {
    if (!removed.has(node.id) || nodeStatus.has(node.id)) continue;
    nodes.push(node);
    nodeStatus.set(node.id, 'removed');
  }
  const edges: FlowEdge[] = [];
  const edgeStatus: DiffStatus[] = [];
  for (const edge of to.edges) {
    edges.push(edge);
    edgeStatus.push(diff.edges.added.some((e) => sameEdge(e, edge)) ? 'added' : 'unchanged');
  }
  for (const edge of diff.edges.removed) {
    const original = from.edges.find((e) => sameEdge(e, edge)) ?? {
      from: edge.from,
      to: edge.to,
      port: edgePort(edge),
    };
    edges.push(original);
    edgeStatus.push('removed');
  }
  return {
    definition: { ...to, nodes, edges },
    nodeStatus,
    changedFields: changed,
    edgeStatus,
    settingsChanged: diff.settings.changed,
  };
}

export function diffSummary(graph: DiffGraph): {
  added: number;
  removed: number;
  changed: number;
  edgesAdded: number;
  edgesRemoved: number;
} {
  let added = 0;
  let removed = 0;
  let changed = 0;
  for (const status of graph.nodeStatus.values()) {
    if (status === 'added') added += 1;
    else if (status === 'removed') removed += 1;
    else if (status === 'changed') changed += 1;
  }
  return {
    added,
    removed,
    changed,
    edgesAdded: graph.edgeStatus.filter((s) => s === 'added').length,
    edgesRemoved: graph.edgeStatus.filter((s) => s === 'removed').length,
  };
}

/** One changed value of a node: its path (`config.url`, `name`) and both sides (undefined: not set). */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/**
 * What changed in a node between two revisions, field by field: objects (config, retry) are
 * followed down to the values that differ; lists are compared whole. Paths in the node's
 * field order, then the new fields.
 */
export function fieldChanges(before: FlowNode | undefined, after: FlowNode | undefined): FieldChange[] {
  const out: FieldChange[] = [];
  const walk = (path: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    if (isPlainObject(a) && isPlainObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
      for (const key of keys) walk(path ? `${path}.${key}` : key, a[key], b[key]);
      return;
    }
    out.push({ path, before: a, after: b });
  };
  walk('', before ?? {}, after ?? {});
  return out;
}

/** A value as the diff shows it: text as it is, the rest as JSON, "(not set)" when absent. */
export function showValue(value: unknown): string {
  if (value === undefined) return '(not set)';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}
