import { useEffect } from 'react';
import { editorStore, isDirty } from '../store/editorStore';
import { clearDraft, saveDraft } from '../flow/draft';

/**
 * Keeps the working copy in localStorage while it differs from the saved revision, and asks
 * before the page is left with unsaved edits.
 */
export function useDraftSync(flowId: string, active: boolean) {
  useEffect(() => {
    if (!active) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = editorStore.subscribe((state, previous) => {
      if (state.history === previous.history && state.savedJson === previous.savedJson) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const current = editorStore.getState();
        if (current.flowId !== flowId) return;
        if (isDirty(current)) saveDraft(flowId, current.baseRevision, current.history.present);
        else clearDraft(flowId);
      }, 300);
    });
    const beforeUnload = (event: BeforeUnloadEvent) => {
      const current = editorStore.getState();
      if (current.flowId === flowId && isDirty(current)) {
        saveDraft(flowId, current.baseRevision, current.history.present);
        event.preventDefault();
      }
    };
    window.addEventListener('beforeunload', beforeUnload);
    return () => {
      clearTimeout(timer);
      unsubscribe();
      window.removeEventListener('beforeunload', beforeUnload);
    };
  }, [flowId, active]);
}
