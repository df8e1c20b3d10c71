import type { FlowDefinition } from './format';

/** Unsaved work kept in this browser, per flow, so a reload or a lost session loses nothing. */
export interface Draft {
  baseRevision: number;
  definition: FlowDefinition;
  savedAt: string;
}

const draftKey = (flowId: string) => `flomation.draft.${flowId}`;
const stashKey = (flowId: string) => `flomation.stash.${flowId}`;

function read(key: string): Draft | null {
  try {
    const text = localStorage.getItem(key);
    if (!text) return null;
    const parsed = JSON.parse(text) as Draft;
    return parsed && parsed.definition && Array.isArray(parsed.definition.nodes) ? parsed : null;
  } catch {
    return null;
  }
}

function write(key: string, draft: Draft): void {
  try {
    localStorage.setItem(key, JSON.stringify(draft));
  } catch {
    // storage full or disabled: the in-memory copy still holds the edits
  }
}

export const loadDraft = (flowId: string) => read(draftKey(flowId));
export const saveDraft = (flowId: string, baseRevision: number, definition: FlowDefinition) =>
  write(draftKey(flowId), { baseRevision, definition, savedAt: new Date().toISOString() });
export const clearDraft = (flowId: string) => localStorage.removeItem(draftKey(flowId));

/** "Reload theirs" after a conflict keeps the user's version here, to bring back later. */
export const loadStash = (flowId: string) => read(stashKey(flowId));
export const stashVersion = (flowId: string, baseRevision: number, definition: FlowDefinition) =>
  write(stashKey(flowId), { baseRevision, definition, savedAt: new Date().toISOString() });
export const clearStash = (flowId: string) => localStorage.removeItem(stashKey(flowId));
