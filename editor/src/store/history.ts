/** Undo/redo over immutable snapshots. Pure: every operation returns a new history. */
export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  /** Successive commits with the same key (typing in one field) merge into one step... */
  coalesceKey: string | null;
  /** ...when they come within COALESCE_MS of each other. */
  coalescedAt: number;
}

export const COALESCE_MS = 1500;

export const HISTORY_LIMIT = 200;

export function createHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], coalesceKey: null, coalescedAt: 0 };
}

export function commit<T>(
  history: History<T>,
  next: T,
  coalesceKey: string | null = null,
  now: number = Date.now(),
): History<T> {
  if (Object.is(next, history.present)) return history;
  if (coalesceKey !== null && coalesceKey === history.coalesceKey && now - history.coalescedAt < COALESCE_MS) {
    return { ...history, present: next, future: [], coalescedAt: now };
  }
  return {
    past: [...history.past, history.present].slice(-HISTORY_LIMIT),
    present: next,
    future: [],
    coalesceKey,
    coalescedAt: now,
  };
}

/** Commits a change that started at `from` (the state before a drag), as one step. */
export function commitFrom<T>(history: History<T>, from: T): History<T> {
  if (Object.is(from, history.present)) return history;
  return {
    past: [...history.past, from].slice(-HISTORY_LIMIT),
    present: history.present,
    future: [],
    coalesceKey: null,
    coalescedAt: 0,
  };
}

/** Replaces the present without a history step (intermediate drag positions). */
export function replacePresent<T>(history: History<T>, next: T): History<T> {
  return { ...history, present: next };
}

export function undo<T>(history: History<T>): History<T> {
  if (!history.past.length) return history;
  const previous = history.past[history.past.length - 1];
  return {
    past: history.past.slice(0, -1),
    present: previous,
    future: [history.present, ...history.future],
    coalesceKey: null,
    coalescedAt: 0,
  };
}

export function redo<T>(history: History<T>): History<T> {
  if (!history.future.length) return history;
  const [next, ...future] = history.future;
  return { past: [...history.past, history.present], present: next, future, coalesceKey: null, coalescedAt: 0 };
}

export const canUndo = <T>(history: History<T>) => history.past.length > 0;
export const canRedo = <T>(history: History<T>) => history.future.length > 0;
