import { describe, expect, it } from 'vitest';
import { ifElse } from '../test/fixtures';
import { copySelection, pasteClip, parseClip } from './clipboard';
import { autoLayout } from './layout';

describe('copy and paste', () => {
  it('pastes copies with fresh ids and the edges among them, never a second start', () => {
    const clip = copySelection(ifElse, new Set(['start', 'yes', 'join']));
    expect(clip.nodes.map((n) => n.id)).toEqual(['yes', 'join']);
    const { definition, ids } = pasteClip(ifElse, parseClip(JSON.stringify(clip)) ?? clip);
    expect(ids).toEqual(['yes_2', 'join_2']);
    expect(definition.edges.at(-1)).toEqual({ from: 'yes_2', to: 'join_2' });
    expect(definition.nodes.filter((n) => n.type === 'start')).toHaveLength(1);
  });

  it('ignores clipboard text that is not a copied selection', () => {
    expect(parseClip('hello')).toBeNull();
    expect(parseClip('{"kind":"other"}')).toBeNull();
  });
});

describe('auto layout', () => {
  it('places every node, left to right along the edges', () => {
    const laid = autoLayout(ifElse);
    const x = (id: string) => laid.nodes.find((n) => n.id === id)?.position?.x ?? NaN;
    expect(laid.nodes.every((n) => n.position)).toBe(true);
    expect(x('start')).toBeLessThan(x('big'));
    expect(x('big')).toBeLessThan(x('join'));
    expect(x('join')).toBeLessThan(x('out'));
  });
});

describe('placing a new node', () => {
  it('moves down until it covers no other node', async () => {
    const { freeSpot } = await import('./layout');
    const occupied = [
      { x: 0, y: 0 },
      { x: 0, y: 92 },
    ];
    expect(freeSpot(occupied, { x: 10, y: 10 })).toEqual({ x: 10, y: 194 });
    expect(freeSpot(occupied, { x: 500, y: 0 })).toEqual({ x: 500, y: 0 });
  });
});

describe('moving nodes', () => {
  it('changes nothing when a node is dropped where it was', async () => {
    const { withPositions } = await import('./useEditingCanvas');
    const { recovery } = await import('../test/fixtures');
    expect(withPositions(recovery, new Map([['call', { x: 250.2, y: 20 }]]))).toBe(recovery);
    const moved = withPositions(recovery, new Map([['call', { x: 300, y: 20 }]]));
    expect(moved.nodes[1].position).toEqual({ x: 300, y: 20 });
    expect(moved.nodes[0]).toBe(recovery.nodes[0]);
  });
});
