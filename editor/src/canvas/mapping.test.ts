import { describe, expect, it } from 'vitest';
import type { FlowDefinition } from '../flow/format';
import { foreach, ifElse, nodeTypes, recovery } from '../test/fixtures';
import { definitionToGraph, edgeIds, graphToDefinition, reuseUnchanged } from './mapping';

describe('definition <-> graph mapping', () => {
  it.each([
    ['if/else', ifElse],
    ['foreach', foreach],
    ['recovery', recovery],
  ])('round-trips the %s example without loss', (_name, definition) => {
    const { nodes, edges } = definitionToGraph(definition, { nodeTypes });
    expect(graphToDefinition(definition, nodes, edges)).toEqual(definition);
  });

  it('keeps every node field, including ones the editor does not know', () => {
    // As the API may give it: fields the editor's types do not name, at every level.
    const stored = {
      version: 1 as const,
      nodes: [
        {
          id: 'a',
          type: 'custom',
          config: { x: [1, { y: null }] },
          future_field: { keep: true },
          position: { x: 1, y: 2 },
        },
      ],
      edges: [{ from: 'a', to: 'a', port: 'success', note: 'loop' }],
      extra_top_level: 42,
    };
    const definition: FlowDefinition = stored;
    const { nodes, edges } = definitionToGraph(definition);
    expect(JSON.stringify(graphToDefinition(definition, nodes, edges))).toBe(JSON.stringify(definition));
  });

  it('keeps a null position as null', () => {
    const definition = {
      version: 1,
      nodes: [{ id: 'start', type: 'start', position: null }],
      edges: [],
    } as unknown as FlowDefinition;
    const { nodes, edges } = definitionToGraph(definition);
    expect(graphToDefinition(definition, nodes, edges)).toEqual(definition);
  });

  it('keeps the order of edges, which is part of the definition', () => {
    const reversed: FlowDefinition = { ...ifElse, edges: [...ifElse.edges].reverse() };
    const { nodes, edges } = definitionToGraph(reversed);
    expect(edges.map((e) => `${e.source}>${e.target}`)).toEqual(reversed.edges.map((e) => `${e.from}>${e.to}`));
    expect(graphToDefinition(reversed, nodes, edges).edges).toEqual(reversed.edges);
  });

  it('draws each edge from the handle of its port, defaulting to success', () => {
    const { edges } = definitionToGraph(ifElse);
    expect(edges.map((e) => e.sourceHandle)).toEqual(['success', 'true', 'false', 'success', 'success', 'success']);
    expect(edges.every((e) => e.targetHandle === 'in')).toBe(true);
  });

  it('marks error edges so they are drawn red', () => {
    const { edges } = definitionToGraph(recovery);
    expect(edges[1].className).toContain('edge-port-error');
    expect(edges[0].className).not.toContain('edge-port-error');
  });

  it('stores a position only for nodes that had one or were moved', () => {
    const { nodes, edges } = definitionToGraph(ifElse);
    const moved = nodes.map((node) => (node.id === 'yes' ? { ...node, position: { x: 999, y: 5 } } : node));
    const back = graphToDefinition(ifElse, moved, edges);
    expect(back.nodes.find((n) => n.id === 'yes')?.position).toEqual({ x: 999, y: 5 });
    expect(back.nodes.find((n) => n.id === 'no')).not.toHaveProperty('position');
  });

  it('gives ports from the node type, and one port per switch case', () => {
    const definition: FlowDefinition = {
      version: 1,
      nodes: [{ id: 's', type: 'switch', config: { value: '{{ input.k }}', cases: ['a', 'b', 'default'] } }],
      edges: [],
    };
    const { nodes } = definitionToGraph(definition, { nodeTypes });
    expect(nodes[0].data.ports).toEqual(['a', 'b', 'default', 'error']);
  });

  it('draws edges on ports the node lacks, marked, so they can be seen and removed', () => {
    const definition: FlowDefinition = {
      version: 1,
      nodes: [
        { id: 'start', type: 'start' },
        { id: 's', type: 'switch', config: { cases: ['a'] } },
      ],
      edges: [
        { from: 'start', to: 's' },
        { from: 's', to: 'start', port: 'gone' },
      ],
    };
    const { nodes, edges } = definitionToGraph(definition, { nodeTypes });
    const sw = nodes.find((n) => n.id === 's');
    expect(sw?.data.ports).toEqual(['a', 'default', 'error', 'gone']);
    expect(sw?.data.unknownPorts).toEqual(['gone']);
    expect(nodes.find((n) => n.id === 'start')?.data.hasInput).toBe(true);
    expect(graphToDefinition(definition, nodes, edges)).toEqual(definition);
  });

  it('writes the port of an edge drawn on the canvas explicitly', () => {
    const { nodes, edges } = definitionToGraph(ifElse);
    const drawn = [...edges, { id: 'new', source: 'no', target: 'out', sourceHandle: 'error', targetHandle: 'in' }];
    const back = graphToDefinition(ifElse, nodes, drawn);
    expect(back.edges[back.edges.length - 1]).toEqual({ from: 'no', to: 'out', port: 'error' });
  });

  it('gives repeated identical edges distinct ids', () => {
    expect(
      edgeIds([
        { from: 'a', to: 'b' },
        { from: 'a', to: 'b', port: 'success' },
      ]),
    ).toEqual(['a:success->b', 'a:success->b#1']);
  });

  it('carries selection, run state, diff and problems into the view', () => {
    const { nodes, edges } = definitionToGraph(recovery, {
      selectedNodes: new Set(['call']),
      runStates: new Map([['call', { status: 'failed', visits: 1, attempts: 2, iterations: 0 }]]),
      takenEdges: new Set([1]),
      problems: new Map([['call', ['url: bad']]]),
      readOnly: true,
    });
    const call = nodes.find((n) => n.id === 'call');
    expect(call?.selected).toBe(true);
    expect(call?.data.run?.attempts).toBe(2);
    expect(call?.data.problems).toEqual(['url: bad']);
    expect(call?.draggable).toBe(false);
    expect(edges[1].className).toContain('edge-taken');
  });
});

describe('reuseUnchanged', () => {
  it('hands back the drawn object of every node and edge a move did not touch', async () => {
    const { withPositions } = await import('./useEditingCanvas');
    const before = definitionToGraph(ifElse, { nodeTypes });
    const moved = withPositions(ifElse, new Map([['yes', { x: 999, y: 5 }]]));
    const after = reuseUnchanged(before, definitionToGraph(moved, { nodeTypes }));
    const changed = after.nodes.filter((node, index) => node !== before.nodes[index]).map((node) => node.id);
    expect(changed).toEqual(['yes']);
    expect(after.nodes.find((node) => node.id === 'yes')?.position).toEqual({ x: 999, y: 5 });
    expect(after.edges.every((edge, index) => edge === before.edges[index])).toBe(true);
  });

  it('redraws a node whose selection, problems or run state changed', () => {
    const before = definitionToGraph(ifElse, { nodeTypes });
    const after = reuseUnchanged(
      before,
      definitionToGraph(ifElse, {
        nodeTypes,
        selectedNodes: new Set(['start']),
        problems: new Map([['big', ['expression: required']]]),
        runStates: new Map([['out', { status: 'succeeded', visits: 1, attempts: 1, iterations: 0 }]]),
      }),
    );
    const changed = after.nodes.filter((node, index) => node !== before.nodes[index]).map((node) => node.id);
    expect(changed.sort()).toEqual(['big', 'out', 'start']);
  });

  it('returns the previous graph itself when nothing changed', () => {
    const before = definitionToGraph(ifElse, { nodeTypes });
    expect(reuseUnchanged(before, definitionToGraph(ifElse, { nodeTypes }))).toBe(before);
  });
});
