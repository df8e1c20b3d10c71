import { Modal } from '../components/ui';
import type { Conflict } from './useSaveFlow';

/** A save met a newer revision: take theirs (yours is stashed) or save yours on top. */
export function ConflictDialog({
  conflict,
  onReloadTheirs,
  onKeepMine,
  onCancel,
}: {
  conflict: Conflict;
  onReloadTheirs: () => void;
  onKeepMine: () => void;
  onCancel: () => void;
}) {
  return (
    <Modal title="Someone saved this flow meanwhile" onClose={onCancel} testId="conflict-dialog">
      <p>
        Revision {conflict.currentRevision ?? 'newer'} was saved after the one you started from. Choose which version
        goes on:
      </p>
      <ul className="choice-list">
        <li>
          <strong>Reload theirs</strong>: open the current revision. Your version is kept in this browser; bring it back
          from the history panel.
        </li>
        <li>
          <strong>Keep mine as a new revision</strong>: save your version on top of theirs. Theirs stays in the history
          and can be restored.
        </li>
      </ul>
      <div className="form-actions">
        <button type="button" className="button" onClick={onCancel} data-testid="conflict-cancel">
          Cancel
        </button>
        <button type="button" className="button" onClick={onReloadTheirs} data-testid="conflict-reload-theirs">
          Reload theirs
        </button>
        <button type="button" className="button primary" onClick={onKeepMine} data-testid="conflict-keep-mine">
          Keep mine as a new revision
        </button>
      </div>
    </Modal>
  );
}
