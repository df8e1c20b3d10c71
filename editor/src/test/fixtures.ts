import type { FlowDefinition } from '../flow/format';
import type { NodeType } from '../api/models';

/** The examples of flow-format.md, as the editor receives them. */
export const ifElse: FlowDefinition = {
  version: 1,
  nodes: [
    { id: 'start', type: 'start' },
    { id: 'big', type: 'condition', config: { expression: '{{ input.n > 10 }}' } },
    { id: 'yes', type: 'set', config: { values: { size: 'big' } } },
    { id: 'no', type: 'set', config: { values: { size: 'small' } } },
    { id: 'join', type: 'merge' },
    { id: 'out', type: 'return', config: { value: { size: '{{ (nodes.yes.output or nodes.no.output).size }}' } } },
  ],
  edges: [
    { from: 'start', to: 'big' },
    { from: 'big', to: 'yes', port: 'true' },
    { from: 'big', to: 'no', port: 'false' },
    { from: 'yes', to: 'join' },
    { from: 'no', to: 'join' },
    { from: 'join', to: 'out' },
  ],
};

export const foreach: FlowDefinition = {
  version: 1,
  nodes: [
    { id: 'start', type: 'start' },
    { id: 'each', type: 'foreach', config: { items: '{{ input.xs }}' } },
    { id: 'sq', type: 'set', config: { values: { v: '{{ item * item }}' } } },
    {
      id: 'out',
      type: 'return',
      config: { value: { squares: "{{ nodes.each.output.results | map(attribute='v') | list }}" } },
    },
  ],
  edges: [
    { from: 'start', to: 'each' },
    { from: 'each', to: 'sq', port: 'each' },
    { from: 'each', to: 'out', port: 'done' },
  ],
};

export const recovery: FlowDefinition = {
  version: 1,
  runs_on: { location: 'onprem' },
  timeout_s: 3600,
  nodes: [
    { id: 'start', type: 'start', position: { x: 10, y: 20 } },
    {
      id: 'call',
      type: 'http',
      name: 'Call it',
      config: { url: 'http://127.0.0.1:9/unreachable' },
      retry: { max_attempts: 2, delay_s: 0.01 },
      timeout_s: 5,
      max_visits: 3,
      position: { x: 250, y: 20 },
    },
    {
      id: 'fallback',
      type: 'return',
      config: { value: { recovered: true, attempts: '{{ error.attempt }}' } },
      position: { x: 500, y: 120 },
    },
  ],
  edges: [
    { from: 'start', to: 'call' },
    { from: 'call', to: 'fallback', port: 'error' },
  ],
};

export function nodeType(type: string, ports: string[], extra: Partial<NodeType> = {}): NodeType {
  return {
    type,
    title: type,
    description: '',
    icon: type,
    group: 'core',
    ports,
    config_schema: { type: 'object', properties: {} },
    output_schema: {},
    ...extra,
  };
}

export const nodeTypes = new Map<string, NodeType>([
  ['start', nodeType('start', ['success'], { group: 'flow' })],
  ['condition', nodeType('condition', ['true', 'false', 'error'], { group: 'flow' })],
  ['switch', nodeType('switch', ['default', 'error'], { group: 'flow' })],
  ['foreach', nodeType('foreach', ['each', 'done', 'error'], { group: 'flow' })],
  ['set', nodeType('set', ['success', 'error'])],
  ['merge', nodeType('merge', ['success', 'error'])],
  ['return', nodeType('return', [])],
  [
    'http',
    nodeType('http', ['success', 'error'], {
      output_schema: { type: 'object', properties: { status: {}, headers: {}, body: {} } },
    }),
  ],
]);
