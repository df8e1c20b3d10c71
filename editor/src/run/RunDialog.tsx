import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../api/instance';
import type { FlowDefinition, JsonValue } from '../flow/format';
import { ErrorNote, Modal } from '../components/ui';
import { CodeEditor } from '../panel/CodeEditor';
import { exampleInput } from '../flow/defaults';

/** Input for a manual run, prefilled from the start node's input schema; starts it and opens it live. */
export default function RunDialog({
  flowId,
  definition,
  revision,
  dirty,
  onSaveFirst,
  onClose,
}: {
  flowId: string;
  definition: FlowDefinition;
  revision: number;
  dirty: boolean;
  /** Saves the working copy and answers the new revision (null when the save did not happen). */
  onSaveFirst?: () => Promise<number | null>;
  onClose: () => void;
}) {
  const navigate = useNavigate();
  const [text, setText] = useState(() => JSON.stringify(exampleInput(definition), null, 2));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // One key per dialog: a double click or a retried request starts one execution.
  const [idempotencyKey] = useState(() => crypto.randomUUID());

  const run = async (saveFirst = false) => {
    let input: JsonValue;
    try {
      input = text.trim() ? (JSON.parse(text) as JsonValue) : {};
    } catch (caught) {
      setError(new Error(`The input is not valid JSON: ${(caught as Error).message}`));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      let runRevision = revision;
      if (saveFirst && onSaveFirst) {
        const saved = await onSaveFirst();
        if (saved === null) {
          setError(new Error('The flow was not saved (see the editor for why): nothing was run.'));
          return;
        }
        runRevision = saved;
      }
      const execution = await api().createExecution(
        flowId,
        { input, revision: runRevision },
        saveFirst ? crypto.randomUUID() : idempotencyKey,
      );
      navigate(`/executions/${execution.id}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title="Run flow" onClose={onClose} testId="run-dialog" wide>
      {dirty ? (
        <p className="warning" role="status">
          You have unsaved changes. “Run revision {revision}” runs the flow as saved; “Save and run” saves your changes
          as a new revision first.
        </p>
      ) : (
        <p className="muted">Runs revision {revision}.</p>
      )}
      <label className="block-label" htmlFor="run-input">
        Input (JSON)
      </label>
      <div id="run-input">
        <CodeEditor
          value={text}
          onChange={setText}
          language="json"
          label="Run input"
          testId="run-input"
          minHeight="180px"
        />
      </div>
      <ErrorNote error={error} testId="run-error" />
      <div className="form-actions">
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
        {dirty && onSaveFirst ? (
          <button
            type="button"
            className="button"
            onClick={() => void run(true)}
            disabled={busy}
            data-testid="run-save-and-run"
          >
            Save and run
          </button>
        ) : null}
        <button
          type="button"
          className="button primary"
          onClick={() => void run()}
          disabled={busy}
          data-testid="run-submit"
        >
          {busy ? 'Starting…' : dirty ? `Run revision ${revision}` : 'Run'}
        </button>
      </div>
    </Modal>
  );
}
