import type { FlowNode } from './format';
import type { NodeType } from '../api/models';

/** Ports of the built-in types, used until node types are loaded (flow-format.md). */
const BUILT_IN_PORTS: Record<string, string[]> = {
  start: ['success'],
  condition: ['true', 'false', 'error'],
  switch: ['default', 'error'],
  foreach: ['each', 'done', 'error'],
  return: [],
  fail: [],
  on_error: ['success'],
};
const ORDINARY_PORTS = ['success', 'error'];

/** Types that take no incoming edge. */
const NO_INPUT = new Set(['start', 'on_error']);

/** The configured cases of a switch node, as ports (strings only, never `default`/`error`). */
export function switchCases(node: Pick<FlowNode, 'config'>): string[] {
  const cases = node.config?.cases;
  if (!Array.isArray(cases)) return [];
  const seen = new Set<string>();
  for (const value of cases) {
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    const name = String(value);
    if (name === 'default' || name === 'error' || name === '') continue;
    seen.add(name);
  }
  return [...seen];
}

/**
 * Output ports of a node in the order they are drawn: a switch gets one port per case
 * before its type's ports, as the API validates them.
 */
export function outputPorts(node: Pick<FlowNode, 'type' | 'config'>, nodeType?: NodeType): string[] {
  const base = nodeType ? nodeType.ports : (BUILT_IN_PORTS[node.type] ?? ORDINARY_PORTS);
  if (node.type !== 'switch') return base;
  const cases = switchCases(node);
  return [...cases, ...base.filter((port) => !cases.includes(port))];
}

export function hasInput(type: string): boolean {
  return !NO_INPUT.has(type);
}

export function edgePort(edge: { port?: string }): string {
  return edge.port ?? 'success';
}

export const PORT_LABELS: Record<string, string> = {
  success: 'ok',
  error: 'error',
  true: 'true',
  false: 'false',
  each: 'each',
  done: 'done',
  default: 'default',
};
