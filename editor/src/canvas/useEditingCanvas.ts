import { useCallback, useEffect } from 'react';
import { useReactFlow, type Connection, type EdgeChange, type NodeChange } from '@xyflow/react';
import type { FlowDefinition } from '../flow/format';
import type { NodeType } from '../api/models';
import { editorStore, useEditor } from '../store/editorStore';
import { definitionToGraph, edgeIds, type CanvasEdge, type CanvasNode } from './mapping';
import { edgeAfter, removeNodes, sameEdge } from '../flow/graph';
import { hasInput, outputPorts } from '../flow/ports';
import { newNode } from '../flow/defaults';
import { copySelection, parseClip, pasteClip } from './clipboard';
import { autoLayout, freeSpot } from './layout';
import { useFallbackPositions } from './useFallbackPositions';
import { useReusedGraph } from './useReusedGraph';

/** The definition with these nodes moved; the same object when nothing actually moved. */
export function withPositions(
  definition: FlowDefinition,
  moves: Map<string, { x: number; y: number }>,
): FlowDefinition {
  let changed = false;
  const nodes = definition.nodes.map((node) => {
    const to = moves.get(node.id);
    if (!to) return node;
    const position = { x: Math.round(to.x), y: Math.round(to.y) };
    if (node.position && node.position.x === position.x && node.position.y === position.y) return node;
    changed = true;
    return { ...node, position };
  });
  return changed ? { ...definition, nodes } : definition;
}

function isTyping(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  if (!element) return false;
  return (
    element.isContentEditable ||
    ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName) ||
    !!element.closest?.('.cm-editor, dialog')
  );
}

/**
 * Wires the editor store to the canvas: the drawn graph, and every edit (move, connect,
 * delete, drop, copy/paste, undo/redo, layout) turned into a definition change.
 */
export function useEditingCanvas(
  nodeTypes: Map<string, NodeType>,
  options: { readOnly: boolean; problems: Map<string, string[]>; onSave?: () => void },
) {
  const definition = useEditor((s) => s.history.present);
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const measured = useEditor((s) => s.measured);
  const { screenToFlowPosition, getNodes } = useReactFlow();
  const { readOnly, problems, onSave } = options;
  const fallbackPositions = useFallbackPositions(definition, measured);

  const graph = useReusedGraph(
    () =>
      definitionToGraph(definition, {
        nodeTypes,
        selectedNodes: new Set(selectedNodes),
        selectedEdges: new Set(selectedEdges),
        measured,
        problems,
        readOnly,
        fallbackPositions,
      }),
    [definition, nodeTypes, selectedNodes, selectedEdges, measured, problems, readOnly, fallbackPositions],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<CanvasNode>[]) => {
      const state = editorStore.getState();
      const moves = new Map<string, { x: number; y: number }>();
      let dragging = false;
      let selection: Set<string> | null = null;
      for (const change of changes) {
        if (change.type === 'position' && change.position) {
          moves.set(change.id, change.position);
          dragging = dragging || !!change.dragging;
        } else if (change.type === 'position' && change.dragging === false) {
          dragging = false;
        } else if (change.type === 'select') {
          selection ??= new Set(state.selectedNodes);
          if (change.selected) selection.add(change.id);
          else selection.delete(change.id);
        } else if (change.type === 'dimensions' && change.dimensions) {
          const current = state.measured[change.id];
          if (!current || current.width !== change.dimensions.width || current.height !== change.dimensions.height) {
            state.setMeasured(change.id, change.dimensions);
          }
        }
      }
      if (selection) state.select([...selection], state.selectedEdges);
      const dragEnded = changes.some((c) => c.type === 'position' && c.dragging === false);
      if (moves.size && !readOnly) {
        const moved = withPositions(state.history.present, moves);
        if (moved !== state.history.present) {
          if (!state.dragStart) state.beginDrag();
          state.dragTo(moved);
        }
      }
      if (dragEnded || (moves.size && !dragging)) editorStore.getState().endDrag();
    },
    [readOnly],
  );

  const onEdgesChange = useCallback((changes: EdgeChange<CanvasEdge>[]) => {
    const state = editorStore.getState();
    let selection: Set<string> | null = null;
    for (const change of changes) {
      if (change.type !== 'select') continue;
      selection ??= new Set(state.selectedEdges);
      if (change.selected) selection.add(change.id);
      else selection.delete(change.id);
    }
    if (selection) state.select(state.selectedNodes, [...selection]);
  }, []);

  const isValidConnection = useCallback(
    (connection: Connection | CanvasEdge) => {
      const present = editorStore.getState().history.present;
      const target = present.nodes.find((node) => node.id === connection.target);
      const source = present.nodes.find((node) => node.id === connection.source);
      if (!target || !source || !hasInput(target.type)) return false;
      const port = connection.sourceHandle ?? 'success';
      if (!outputPorts(source, nodeTypes.get(source.type)).includes(port)) return false;
      return !present.edges.some((edge) => sameEdge(edge, { from: source.id, to: target.id, port }));
    },
    [nodeTypes],
  );

  const onConnect = useCallback(
    (connection: Connection) => {
      if (readOnly || !isValidConnection(connection)) return;
      const state = editorStore.getState();
      const present = state.history.present;
      state.commit({
        ...present,
        edges: [
          ...present.edges,
          { from: connection.source, to: connection.target, port: connection.sourceHandle ?? 'success' },
        ],
      });
    },
    [readOnly, isValidConnection],
  );

  const deleteSelection = useCallback(
    (nodeIds: string[], edgeIdList: string[]) => {
      if (readOnly) return;
      const state = editorStore.getState();
      const present = state.history.present;
      // The start node stays: a flow has exactly one.
      const nodes = nodeIds.filter((id) => present.nodes.find((node) => node.id === id)?.type !== 'start');
      const ids = edgeIds(present.edges);
      const goneEdges = new Set(edgeIdList);
      const next = removeNodes(
        { ...present, edges: present.edges.filter((_edge, index) => !goneEdges.has(ids[index])) },
        nodes,
      );
      state.commit(next);
      state.select([], []);
    },
    [readOnly],
  );

  const onDelete = useCallback(
    ({ nodes, edges }: { nodes: CanvasNode[]; edges: CanvasEdge[] }) =>
      deleteSelection(
        nodes.map((n) => n.id),
        edges.map((e) => e.id),
      ),
    [deleteSelection],
  );

  const addNode = useCallback(
    (type: string, position?: { x: number; y: number }) => {
      if (readOnly) return;
      const state = editorStore.getState();
      const present = state.history.present;
      // Dropped nodes go where they were dropped; clicked ones next to the selected node, else
      // mid-screen, moved down until they cover no other node.
      // Drawn positions count, including those of nodes placed by the automatic layout.
      const drawn = getNodes();
      const anchor = drawn.find((n) => n.id === state.selectedNodes[0])?.position;
      const at =
        position ??
        freeSpot(
          drawn.map((n) => n.position),
          anchor
            ? { x: anchor.x + 260, y: anchor.y }
            : screenToFlowPosition({ x: window.innerWidth / 2, y: window.innerHeight / 2 }),
        );
      const node = newNode(present, type, nodeTypes.get(type), at);
      // Added by click or Enter while one node is selected: it goes after that node.
      const source = !position && state.selectedNodes.length === 1 ? state.selectedNodes[0] : null;
      const sourceNode = source ? present.nodes.find((n) => n.id === source) : undefined;
      const edge = sourceNode
        ? edgeAfter(
            present,
            sourceNode.id,
            node.id,
            outputPorts(sourceNode, nodeTypes.get(sourceNode.type)),
            hasInput(type),
          )
        : null;
      state.commit({
        ...present,
        nodes: [...present.nodes, node],
        edges: edge ? [...present.edges, edge] : present.edges,
      });
      state.select([node.id], []);
    },
    [readOnly, nodeTypes, screenToFlowPosition, getNodes],
  );

  const layout = useCallback(() => {
    if (readOnly) return;
    const state = editorStore.getState();
    state.commit(autoLayout(state.history.present, state.measured));
  }, [readOnly]);

  const copy = useCallback(() => {
    const state = editorStore.getState();
    const clip = copySelection(state.history.present, new Set(state.selectedNodes));
    if (!clip.nodes.length) return;
    const text = JSON.stringify(clip);
    localStorage.setItem('flomation.clipboard', text);
    void navigator.clipboard?.writeText(text).catch(() => undefined);
  }, []);

  const paste = useCallback(async () => {
    if (readOnly) return;
    let text = localStorage.getItem('flomation.clipboard') ?? '';
    try {
      const system = await navigator.clipboard?.readText();
      if (system && parseClip(system)) text = system;
    } catch {
      // reading the system clipboard needs a permission; the local copy will do
    }
    const clip = parseClip(text);
    if (!clip) return;
    const state = editorStore.getState();
    const { definition: next, ids } = pasteClip(state.history.present, clip);
    state.commit(next);
    state.select(ids, []);
  }, [readOnly]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTyping(event.target)) return;
      const mod = event.metaKey || event.ctrlKey;
      const key = event.key.toLowerCase();
      const state = editorStore.getState();
      if (mod && key === 's') {
        event.preventDefault();
        onSave?.();
      } else if (readOnly) {
        return;
      } else if (mod && key === 'z' && !event.shiftKey) {
        event.preventDefault();
        state.undo();
      } else if (mod && (key === 'y' || (key === 'z' && event.shiftKey))) {
        event.preventDefault();
        state.redo();
      } else if (mod && key === 'c') {
        copy();
      } else if (mod && key === 'v') {
        event.preventDefault();
        void paste();
      } else if (mod && key === 'a') {
        event.preventDefault();
        state.select(
          state.history.present.nodes.map((n) => n.id),
          edgeIds(state.history.present.edges),
        );
      } else if (!mod && event.shiftKey && key === 'l') {
        event.preventDefault();
        layout();
      } else if (key === 'escape') {
        state.select([], []);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [readOnly, copy, paste, layout, onSave]);

  return {
    ...graph,
    onNodesChange,
    onEdgesChange,
    onConnect,
    onDelete,
    isValidConnection,
    addNode,
    layout,
    copy,
    paste,
    deleteSelection,
  };
}
