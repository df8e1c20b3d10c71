import { describe, expect, it } from 'vitest';
import type { FlowDefinition } from '../flow/format';
import { autoLayout } from './layout';

const y = (definition: FlowDefinition, id: string) => definition.nodes.find((n) => n.id === id)?.position?.y ?? NaN;

describe('auto-layout', () => {
  it('puts the true branch above the false one, whatever order the edges were stored in', () => {
    const definition: FlowDefinition = {
      version: 1,
      nodes: [
        { id: 'start', type: 'start' },
        { id: 'check', type: 'condition' },
        { id: 'no', type: 'set' },
        { id: 'no_after', type: 'log' },
        { id: 'yes', type: 'set' },
        { id: 'yes_after', type: 'log' },
      ],
      edges: [
        { from: 'start', to: 'check' },
        { from: 'check', to: 'no', port: 'false' },
        { from: 'no', to: 'no_after' },
        { from: 'check', to: 'yes', port: 'true' },
        { from: 'yes', to: 'yes_after' },
      ],
    };
    const laid = autoLayout(definition);
    expect(y(laid, 'yes')).toBeLessThan(y(laid, 'no'));
    // What follows a branch moves with it.
    expect(y(laid, 'yes_after')).toBeLessThan(y(laid, 'no_after'));
  });

  it("keeps a foreach's each port above done and a switch's cases in their order", () => {
    const definition: FlowDefinition = {
      version: 1,
      nodes: [
        { id: 'start', type: 'start' },
        { id: 'loop', type: 'foreach' },
        { id: 'body', type: 'set' },
        { id: 'after', type: 'return' },
        { id: 'route', type: 'switch', config: { cases: ['a', 'b'] } },
        { id: 'to_a', type: 'log' },
        { id: 'to_b', type: 'log' },
        { id: 'other', type: 'log' },
      ],
      edges: [
        { from: 'start', to: 'loop' },
        { from: 'loop', to: 'after', port: 'done' },
        { from: 'loop', to: 'body', port: 'each' },
        { from: 'start', to: 'route' },
        { from: 'route', to: 'other', port: 'default' },
        { from: 'route', to: 'to_b', port: 'b' },
        { from: 'route', to: 'to_a', port: 'a' },
      ],
    };
    const laid = autoLayout(definition);
    expect(y(laid, 'body')).toBeLessThan(y(laid, 'after'));
    expect(y(laid, 'to_a')).toBeLessThan(y(laid, 'to_b'));
    expect(y(laid, 'to_b')).toBeLessThan(y(laid, 'other'));
  });
});
