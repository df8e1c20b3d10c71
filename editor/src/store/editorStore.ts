import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';
import type { FlowDefinition } from '../flow/format';
import type { ValidationProblem } from '../api/models';
import * as H from './history';

/** What is being shown on the canvas: the working copy, a past revision, or a diff. */
export type CanvasMode =
  | { kind: 'edit' }
  | { kind: 'revision'; revision: number; definition: FlowDefinition }
  | { kind: 'diff'; from: number; to: number };

export interface EditorState {
  flowId: string | null;
  /** Revision the working copy is based on (sent as `base_revision`). */
  baseRevision: number;
  /** JSON of the definition as last loaded or saved, to tell whether there are edits. */
  savedJson: string;
  history: H.History<FlowDefinition>;
  selectedNodes: string[];
  selectedEdges: string[];
  measured: Record<string, { width: number; height: number }>;
  problems: ValidationProblem[];
  mode: CanvasMode;
  dragStart: FlowDefinition | null;

  load: (flowId: string, definition: FlowDefinition, revision: number, working?: FlowDefinition) => void;
  commit: (definition: FlowDefinition, coalesceKey?: string) => void;
  beginDrag: () => void;
  dragTo: (definition: FlowDefinition) => void;
  endDrag: () => void;
  undo: () => void;
  redo: () => void;
  select: (nodes: string[], edges: string[]) => void;
  setMeasured: (id: string, size: { width: number; height: number }) => void;
  markSaved: (definition: FlowDefinition, revision: number) => void;
  setProblems: (problems: ValidationProblem[]) => void;
  setMode: (mode: CanvasMode) => void;
}

export function createEditorStore() {
  return createStore<EditorState>()((set, get) => ({
    flowId: null,
    baseRevision: 0,
    savedJson: '',
    history: H.createHistory<FlowDefinition>({ version: 1, nodes: [], edges: [] }),
    selectedNodes: [],
    selectedEdges: [],
    measured: {},
    problems: [],
    mode: { kind: 'edit' },
    dragStart: null,

    load: (flowId, definition, revision, working) =>
      set({
        flowId,
        baseRevision: revision,
        savedJson: JSON.stringify(definition),
        history: H.createHistory(working ?? definition),
        selectedNodes: [],
        selectedEdges: [],
        measured: {},
        problems: [],
        mode: { kind: 'edit' },
        dragStart: null,
      }),
    commit: (definition, coalesceKey) => set({ history: H.commit(get().history, definition, coalesceKey ?? null) }),
    beginDrag: () => set({ dragStart: get().history.present }),
    dragTo: (definition) => set({ history: H.replacePresent(get().history, definition) }),
    endDrag: () => {
      const { dragStart, history } = get();
      set({ dragStart: null, history: dragStart ? H.commitFrom(history, dragStart) : history });
    },
    undo: () => set({ history: H.undo(get().history) }),
    redo: () => set({ history: H.redo(get().history) }),
    select: (nodes, edges) => set({ selectedNodes: nodes, selectedEdges: edges }),
    setMeasured: (id, size) => set({ measured: { ...get().measured, [id]: size } }),
    markSaved: (definition, revision) =>
      set({ baseRevision: revision, savedJson: JSON.stringify(definition), problems: [] }),
    setProblems: (problems) => set({ problems }),
    setMode: (mode) => set({ mode }),
  }));
}

export type EditorStore = ReturnType<typeof createEditorStore>;

/** The editor of the open flow (one at a time). */
export const editorStore = createEditorStore();

export function useEditor<T>(selector: (state: EditorState) => T): T {
  return useStore(editorStore, selector);
}

export function isDirty(state: Pick<EditorState, 'history' | 'savedJson'>): boolean {
  return JSON.stringify(state.history.present) !== state.savedJson;
}
