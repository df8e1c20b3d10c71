import { describe, expect, it } from 'vitest';
import {
  COALESCE_MS,
  canRedo,
  canUndo,
  commit,
  commitFrom,
  createHistory,
  redo,
  replacePresent,
  undo,
} from './history';
import { createEditorStore, isDirty } from './editorStore';
import { ifElse } from '../test/fixtures';
import { removeNodes } from '../flow/graph';

describe('undo/redo history', () => {
  it('undoes and redoes commits in order', () => {
    let h = createHistory(1);
    h = commit(h, 2);
    h = commit(h, 3);
    h = undo(h);
    expect(h.present).toBe(2);
    h = undo(h);
    expect(h.present).toBe(1);
    expect(canUndo(h)).toBe(false);
    h = redo(h);
    expect(h.present).toBe(2);
    expect(canRedo(h)).toBe(true);
  });

  it('drops the redo branch on a new commit', () => {
    let h = commit(commit(createHistory('a'), 'b'), 'c');
    h = commit(undo(h), 'd');
    expect(canRedo(h)).toBe(false);
    expect(undo(h).present).toBe('b');
  });

  it('merges quick commits with the same coalesce key into one step', () => {
    let h = createHistory('');
    h = commit(h, 'h', 'field', 1000);
    h = commit(h, 'he', 'field', 1200);
    h = commit(h, 'hey', 'field', 1400);
    expect(h.past).toEqual(['']);
    expect(undo(h).present).toBe('');
  });

  it('starts a new step after a pause or in another field', () => {
    let h = createHistory('');
    h = commit(h, 'a', 'field', 1000);
    h = commit(h, 'ab', 'field', 1000 + COALESCE_MS + 1);
    h = commit(h, 'abc', 'other', 1000 + COALESCE_MS + 2);
    expect(h.past).toEqual(['', 'a', 'ab']);
  });

  it('records a drag as one step from where it started', () => {
    let h = createHistory({ x: 0 });
    const start = h.present;
    h = replacePresent(h, { x: 5 });
    h = replacePresent(h, { x: 10 });
    h = commitFrom(h, start);
    expect(h.past).toEqual([{ x: 0 }]);
    expect(undo(h).present).toEqual({ x: 0 });
  });
});

describe('editor store', () => {
  it('tracks edits against the loaded revision and undoes them', () => {
    const store = createEditorStore();
    store.getState().load('f1', ifElse, 3);
    expect(isDirty(store.getState())).toBe(false);
    store.getState().commit(removeNodes(ifElse, ['join']));
    expect(isDirty(store.getState())).toBe(true);
    expect(store.getState().history.present.nodes.map((n) => n.id)).not.toContain('join');
    store.getState().undo();
    expect(isDirty(store.getState())).toBe(false);
    store.getState().redo();
    store.getState().markSaved(store.getState().history.present, 4);
    expect(isDirty(store.getState())).toBe(false);
    expect(store.getState().baseRevision).toBe(4);
  });

  it('opens a draft on top of the loaded revision as unsaved work', () => {
    const store = createEditorStore();
    const draft = removeNodes(ifElse, ['no']);
    store.getState().load('f1', ifElse, 3, draft);
    expect(isDirty(store.getState())).toBe(true);
    expect(store.getState().history.present).toBe(draft);
  });
});
