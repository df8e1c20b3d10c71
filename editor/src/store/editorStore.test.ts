import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FlowDefinition } from '../flow/format';
import { ifElse } from '../test/fixtures';
import { createEditorStore, isDirty } from './editorStore';

const renamed = (definition: FlowDefinition, name: string): FlowDefinition => ({
  ...definition,
  nodes: definition.nodes.map((n) => (n.id === 'big' ? { ...n, name } : n)),
});

describe('the editor store', () => {
  let store: ReturnType<typeof createEditorStore>;
  beforeEach(() => {
    store = createEditorStore();
    store.getState().load('f1', ifElse, 3);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('loads a flow clean, at its revision, with nothing selected and no history', () => {
    store.getState().select(['big'], []);
    store.getState().load('f1', ifElse, 4);
    const state = store.getState();
    expect(state.baseRevision).toBe(4);
    expect(state.selectedNodes).toEqual([]);
    expect(state.history.past).toEqual([]);
    expect(isDirty(state)).toBe(false);
  });

  it('loads a restored draft as edits over the saved revision', () => {
    store.getState().load('f1', ifElse, 3, renamed(ifElse, 'draft'));
    expect(isDirty(store.getState())).toBe(true);
  });

  it('undoes and redoes commits, and is clean again when back at the saved definition', () => {
    store.getState().commit(renamed(ifElse, 'a'));
    expect(isDirty(store.getState())).toBe(true);
    store.getState().undo();
    expect(store.getState().history.present).toBe(ifElse);
    expect(isDirty(store.getState())).toBe(false);
    store.getState().redo();
    expect(store.getState().history.present.nodes[1].name).toBe('a');
  });

  it('merges typing in one field into one step, but not edits far apart in time', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    store.getState().commit(renamed(ifElse, 'a'), 'big:name');
    vi.setSystemTime(500);
    store.getState().commit(renamed(ifElse, 'ab'), 'big:name');
    expect(store.getState().history.past).toHaveLength(1);
    vi.setSystemTime(5000);
    store.getState().commit(renamed(ifElse, 'abc'), 'big:name');
    expect(store.getState().history.past).toHaveLength(2);
  });

  it('records a drag as one step from where it began, and an empty drag as none', () => {
    store.getState().beginDrag();
    store.getState().dragTo(renamed(ifElse, 'step 1'));
    store.getState().dragTo(renamed(ifElse, 'step 2'));
    store.getState().endDrag();
    expect(store.getState().history.past).toEqual([ifElse]);
    expect(store.getState().dragStart).toBeNull();

    store.getState().beginDrag();
    store.getState().endDrag();
    expect(store.getState().history.past).toHaveLength(1);
  });

  it('marks a save clean at the new revision and drops the old problems', () => {
    const edited = renamed(ifElse, 'saved');
    store.getState().commit(edited);
    store.getState().setProblems([{ loc: ['nodes', 1], msg: 'bad' }]);
    store.getState().markSaved(edited, 4);
    const state = store.getState();
    expect(state.baseRevision).toBe(4);
    expect(state.problems).toEqual([]);
    expect(isDirty(state)).toBe(false);
    // The edit stays undoable after saving.
    expect(state.history.past).toEqual([ifElse]);
  });
});
