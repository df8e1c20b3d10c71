import { useCallback, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../api/instance';
import { isApiError } from '../api/errors';
import type { Flow } from '../api/models';
import type { FlowDefinition } from '../flow/format';
import { keys } from '../api/hooks';
import { editorStore } from '../store/editorStore';
import { clearDraft, stashVersion } from '../flow/draft';

export interface Conflict {
  /** The user's version that could not be saved. */
  mine: FlowDefinition;
  message: string;
  currentRevision: number | null;
}

/**
 * Saving with optimistic concurrency: PUT with `base_revision`; a 409 becomes a `Conflict`
 * that the user resolves, and neither version is ever dropped.
 */
export function useSaveFlow(flowId: string) {
  const queryClient = useQueryClient();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);

  const saved = useCallback(
    async (flow: Flow, sent: FlowDefinition) => {
      // Mark what was sent as saved: edits made while the request ran stay unsaved.
      editorStore.getState().markSaved(sent, flow.revision);
      if (JSON.stringify(editorStore.getState().history.present) === JSON.stringify(sent)) clearDraft(flowId);
      queryClient.setQueryData(keys.flow(flowId), flow);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: keys.revisions(flowId) }),
        queryClient.invalidateQueries({ queryKey: ['flows'] }),
      ]);
    },
    [flowId, queryClient],
  );

  const put = useCallback(
    async (definition: FlowDefinition, message: string, baseRevision: number) => {
      setSaving(true);
      setError(null);
      try {
        const flow = await api().saveFlow(flowId, {
          definition,
          message: message || undefined,
          base_revision: baseRevision,
        });
        await saved(flow, definition);
        return true;
      } catch (caught) {
        if (isApiError(caught, 409)) {
          // 409 also answers a save to an archived flow: that is no conflict to resolve.
          const now = await api()
            .getFlow(flowId)
            .catch(() => null);
          if (now?.archived_at) {
            setError(caught);
            return false;
          }
          const current = caught.problem.current_revision ?? now?.revision;
          setConflict({ mine: definition, message, currentRevision: typeof current === 'number' ? current : null });
        } else {
          if (isApiError(caught, 422)) editorStore.getState().setProblems(caught.problems);
          setError(caught);
        }
        return false;
      } finally {
        setSaving(false);
      }
    },
    [flowId, saved],
  );

  const save = useCallback(
    (message: string) => {
      const state = editorStore.getState();
      return put(state.history.present, message, state.baseRevision);
    },
    [put],
  );

  /** Discard the working copy for the current revision; the user's version is kept in the stash. */
  const reloadTheirs = useCallback(async () => {
    if (!conflict) return;
    const state = editorStore.getState();
    stashVersion(flowId, state.baseRevision, conflict.mine);
    const flow = await api().getFlow(flowId);
    queryClient.setQueryData(keys.flow(flowId), flow);
    clearDraft(flowId);
    state.load(flowId, flow.definition, flow.revision);
    setConflict(null);
    void queryClient.invalidateQueries({ queryKey: keys.revisions(flowId) });
  }, [conflict, flowId, queryClient]);

  /** Save the user's version as a new revision on top of the current one. */
  const keepMine = useCallback(async () => {
    if (!conflict) return;
    const current = conflict.currentRevision ?? (await api().getFlow(flowId)).revision;
    const message = conflict.message
      ? `${conflict.message} (kept over revision ${current})`
      : `Kept over revision ${current}`;
    setConflict(null);
    await put(conflict.mine, message, current);
  }, [conflict, flowId, put]);

  return {
    save,
    saving,
    error,
    clearError: () => setError(null),
    conflict,
    cancelConflict: () => setConflict(null),
    reloadTheirs,
    keepMine,
  };
}
