import { describe, expect, it } from 'vitest';
import type { FlowDefinition } from './format';
import type { FlowDiff } from '../api/models';
import { ifElse } from '../test/fixtures';
import { buildDiffGraph, changedNodes, diffSummary, fieldChanges, showValue } from './diff';

const after: FlowDefinition = {
  ...ifElse,
  nodes: [
    ...ifElse.nodes
      .filter((n) => n.id !== 'no')
      .map((n) => (n.id === 'big' ? { ...n, config: { expression: '{{ input.n > 20 }}' } } : n)),
    { id: 'log', type: 'log', config: { message: 'hi' } },
  ],
  edges: [
    ...ifElse.edges.filter((e) => e.from !== 'no' && e.to !== 'no'),
    { from: 'big', to: 'log', port: 'false' },
    { from: 'log', to: 'join' },
  ],
};

const diff: FlowDiff = {
  nodes: { added: ['log'], removed: ['no'], changed: [{ id: 'big', fields: ['config'] }] },
  edges: {
    added: [
      { from: 'big', to: 'log', port: 'false' },
      { from: 'log', to: 'join', port: 'success' },
    ],
    removed: [
      { from: 'big', to: 'no', port: 'false' },
      { from: 'no', to: 'join', port: 'success' },
    ],
    reordered: false,
  },
  settings: { changed: [] },
};

describe('diff rendering', () => {
  it('marks added, removed, changed and unchanged nodes', () => {
    const graph = buildDiffGraph(ifElse, after, diff);
    expect(graph.nodeStatus.get('log')).toBe('added');
    expect(graph.nodeStatus.get('no')).toBe('removed');
    expect(graph.nodeStatus.get('big')).toBe('changed');
    expect(graph.nodeStatus.get('start')).toBe('unchanged');
    expect(graph.changedFields.get('big')).toEqual(['config']);
  });

  it('draws removed nodes and edges back in, from the older revision', () => {
    const graph = buildDiffGraph(ifElse, after, diff);
    expect(graph.definition.nodes.map((n) => n.id)).toContain('no');
    const removed = graph.definition.edges.filter((_e, i) => graph.edgeStatus[i] === 'removed');
    expect(removed).toEqual([
      { from: 'big', to: 'no', port: 'false' },
      { from: 'no', to: 'join' },
    ]);
  });

  it('matches added edges whether or not the port is spelled out', () => {
    const graph = buildDiffGraph(ifElse, after, diff);
    const added = graph.definition.edges.filter((_e, i) => graph.edgeStatus[i] === 'added');
    expect(added).toHaveLength(2);
    expect(diffSummary(graph)).toEqual({ added: 1, removed: 1, changed: 1, edgesAdded: 2, edgesRemoved: 2 });
  });

  it('gives the changed fields of each changed node', () => {
    expect(changedNodes(diff)).toEqual(new Map([['big', ['config']]]));
  });

  it('lists the changed values of a node field by field, before and after', () => {
    const before = { id: 'call', type: 'http', config: { url: 'https://a', method: 'GET', headers: { A: '1' } } };
    const after = {
      id: 'call',
      type: 'http',
      name: 'Call',
      config: { url: 'https://b', method: 'GET', headers: { A: '1', B: '2' } },
    };
    expect(fieldChanges(before, after)).toEqual([
      { path: 'config.url', before: 'https://a', after: 'https://b' },
      { path: 'config.headers.B', before: undefined, after: '2' },
      { path: 'name', before: undefined, after: 'Call' },
    ]);
    expect(showValue(undefined)).toBe('(not set)');
    expect(showValue({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(fieldChanges(before, before)).toEqual([]);
  });
});
