// @vitest-environment jsdom
import { act, renderHook } from '@testing-library/react';
import { ReactFlowProvider, type NodeChange } from '@xyflow/react';
import type { ReactNode } from 'react';
import { beforeEach, describe, expect, it } from 'vitest';
import { editorStore } from '../store/editorStore';
import { ifElse, nodeTypes } from '../test/fixtures';
import type { CanvasNode } from './mapping';
import { useEditingCanvas } from './useEditingCanvas';

const wrapper = ({ children }: { children: ReactNode }) => <ReactFlowProvider>{children}</ReactFlowProvider>;

function renderCanvas(readOnly = false) {
  return renderHook(() => useEditingCanvas(nodeTypes, { readOnly, problems: new Map() }), { wrapper });
}

const present = () => editorStore.getState().history.present;
const move = (id: string, x: number, y: number, dragging: boolean): NodeChange<CanvasNode> => ({
  type: 'position',
  id,
  position: { x, y },
  dragging,
});

beforeEach(() => {
  editorStore.getState().load('f1', ifElse, 3);
});

describe('the editing canvas', () => {
  it("draws the store's working copy: one drawn node per node, one drawn edge per edge", () => {
    const { result } = renderCanvas();
    expect(result.current.nodes.map((n) => n.id)).toEqual(ifElse.nodes.map((n) => n.id));
    expect(result.current.edges).toHaveLength(ifElse.edges.length);
  });

  it('turns a drag into one undo step that stores rounded positions', () => {
    const { result } = renderCanvas();
    act(() => result.current.onNodesChange([move('yes', 10.4, 20.6, true)]));
    act(() => result.current.onNodesChange([move('yes', 30.2, 40.7, true)]));
    act(() => result.current.onNodesChange([{ type: 'position', id: 'yes', dragging: false }]));
    expect(present().nodes.find((n) => n.id === 'yes')?.position).toEqual({ x: 30, y: 41 });
    expect(editorStore.getState().history.past).toHaveLength(1);
    act(() => editorStore.getState().undo());
    expect(present()).toBe(ifElse);
  });

  it("keeps React Flow's selection in the store", () => {
    const { result } = renderCanvas();
    act(() => result.current.onNodesChange([{ type: 'select', id: 'big', selected: true }]));
    act(() => result.current.onEdgesChange([{ type: 'select', id: result.current.edges[0].id, selected: true }]));
    expect(editorStore.getState().selectedNodes).toEqual(['big']);
    expect(editorStore.getState().selectedEdges).toEqual([result.current.edges[0].id]);
    expect(result.current.nodes.find((n) => n.id === 'big')?.selected).toBe(true);
  });

  it('connects a port to a node once, and refuses unknown ports and nodes without an input', () => {
    const { result } = renderCanvas();
    const connect = (source: string, sourceHandle: string | null, target: string) =>
      act(() => result.current.onConnect({ source, sourceHandle, target, targetHandle: null }));
    connect('yes', 'error', 'out');
    expect(present().edges.at(-1)).toEqual({ from: 'yes', to: 'out', port: 'error' });
    const edges = present().edges.length;
    connect('yes', 'error', 'out'); // the same edge again
    connect('yes', 'nowhere', 'out'); // a port `set` does not have
    connect('yes', null, 'start'); // start takes no input
    expect(present().edges).toHaveLength(edges);
  });

  it('deletes the selection with the edges that touch it, but never the start node', () => {
    const { result } = renderCanvas();
    act(() => result.current.deleteSelection(['start', 'no'], []));
    expect(present().nodes.map((n) => n.id)).toEqual(['start', 'big', 'yes', 'join', 'out']);
    expect(present().edges.some((e) => e.from === 'no' || e.to === 'no')).toBe(false);
    expect(editorStore.getState().selectedNodes).toEqual([]);
  });

  it('changes nothing when read-only, moves and connections included', () => {
    const { result } = renderCanvas(true);
    act(() => result.current.onNodesChange([move('yes', 50, 50, false)]));
    act(() => result.current.onConnect({ source: 'yes', sourceHandle: 'error', target: 'out', targetHandle: null }));
    act(() => result.current.deleteSelection(['no'], []));
    act(() => result.current.layout());
    expect(present()).toBe(ifElse);
  });

  it('undoes with Ctrl+Z, redoes with Ctrl+Shift+Z, and deselects with Escape', () => {
    renderCanvas();
    act(() => editorStore.getState().commit({ ...ifElse, edges: [] }));
    act(() => editorStore.getState().select(['big'], []));
    const key = (init: KeyboardEventInit) => act(() => void window.dispatchEvent(new KeyboardEvent('keydown', init)));
    key({ key: 'z', ctrlKey: true });
    expect(present()).toBe(ifElse);
    key({ key: 'Z', ctrlKey: true, shiftKey: true });
    expect(present().edges).toEqual([]);
    key({ key: 'Escape' });
    expect(editorStore.getState().selectedNodes).toEqual([]);
  });

  it('connects a node added while another is selected after it: true, then false, never error', () => {
    const { result } = renderCanvas();
    act(() => editorStore.getState().commit({ ...ifElse, edges: ifElse.edges.filter((e) => e.from !== 'big') }));
    act(() => editorStore.getState().select(['big'], []));
    act(() => result.current.addNode('set'));
    const added = editorStore.getState().selectedNodes[0];
    expect(present().edges.at(-1)).toEqual({ from: 'big', to: added, port: 'true' });
    act(() => editorStore.getState().select(['big'], []));
    act(() => result.current.addNode('set'));
    expect(present().edges.at(-1)).toEqual({ from: 'big', to: editorStore.getState().selectedNodes[0], port: 'false' });
  });

  it('adds without an edge when nothing is selected, or after a node without outputs', () => {
    const { result } = renderCanvas();
    const edges = present().edges.length;
    act(() => editorStore.getState().select([], []));
    act(() => result.current.addNode('set'));
    act(() => editorStore.getState().select(['out'], []));
    act(() => result.current.addNode('set'));
    expect(present().edges).toHaveLength(edges);
  });
});
