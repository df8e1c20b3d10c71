import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../api/instance';
import { keys } from '../api/hooks';
import type { Flow } from '../api/models';
import type { FlowDefinition } from '../flow/format';
import { ErrorNote, Modal } from '../components/ui';
import { labelsText, parseLabels } from '../flow/labels';

/** What the API keeps of the flow's executions; '' (null to the API): the organisation's default. */
type SaveData = NonNullable<Flow['save_data']>;

/**
 * Flow settings: name, description, concurrency limit and `save_data` (PATCH, no new revision,
 * applied at once), and the definition's `runs_on` and `timeout_s` (edited in the working
 * copy, saved with the next revision).
 */
export function FlowSettingsDialog({
  flow,
  definition,
  canWrite,
  onDefinition,
  onClose,
}: {
  flow: Flow;
  definition: FlowDefinition;
  canWrite: boolean;
  onDefinition: (definition: FlowDefinition) => void;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(flow.name);
  const [description, setDescription] = useState(flow.description ?? '');
  const [maxConcurrent, setMaxConcurrent] = useState(flow.max_concurrent_executions?.toString() ?? '');
  const [runsOn, setRunsOn] = useState(labelsText(definition.runs_on));
  const [timeout, setTimeoutText] = useState(definition.timeout_s?.toString() ?? '');
  const [saveData, setSaveData] = useState<SaveData | ''>(flow.save_data ?? '');
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const max = maxConcurrent.trim() ? Number(maxConcurrent) : null;
      const keep = saveData || null;
      if (
        name !== flow.name ||
        description !== (flow.description ?? '') ||
        max !== (flow.max_concurrent_executions ?? null) ||
        keep !== (flow.save_data ?? null)
      ) {
        const patched = await api().patchFlow(flow.id, {
          name,
          description,
          max_concurrent_executions: max,
          save_data: keep,
        });
        queryClient.setQueryData(keys.flow(flow.id), { ...flow, ...patched, definition: flow.definition });
        void queryClient.invalidateQueries({ queryKey: ['flows'] });
      }
      const labels = parseLabels(runsOn);
      const next: FlowDefinition = { ...definition };
      if (Object.keys(labels).length) next.runs_on = labels;
      else delete next.runs_on;
      if (timeout.trim() && Number(timeout) > 0) next.timeout_s = Number(timeout);
      else delete next.timeout_s;
      if (JSON.stringify(next) !== JSON.stringify(definition)) onDefinition(next);
      onClose();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <Modal title="Flow settings" onClose={onClose} testId="flow-settings-dialog">
      <form className="form" onSubmit={submit}>
        <label>
          Name
          <input
            required
            value={name}
            readOnly={!canWrite}
            onChange={(e) => setName(e.target.value)}
            data-testid="flow-settings-name"
          />
        </label>
        <label>
          Description
          <input
            value={description}
            readOnly={!canWrite}
            onChange={(e) => setDescription(e.target.value)}
            data-testid="flow-settings-description"
          />
        </label>
        <label>
          Max concurrent executions
          <input
            type="number"
            min={1}
            value={maxConcurrent}
            readOnly={!canWrite}
            placeholder="no limit"
            onChange={(e) => setMaxConcurrent(e.target.value)}
            data-testid="flow-settings-max-concurrent"
          />
        </label>
        <label>
          Runs on (runner labels, k=v, comma separated)
          <input
            value={runsOn}
            readOnly={!canWrite}
            placeholder="location=onprem"
            onChange={(e) => setRunsOn(e.target.value)}
            data-testid="flow-settings-runs-on"
          />
        </label>
        <label>
          Execution timeout (s)
          <input
            type="number"
            min={1}
            value={timeout}
            readOnly={!canWrite}
            placeholder="none"
            onChange={(e) => setTimeoutText(e.target.value)}
            data-testid="flow-settings-timeout"
          />
        </label>
        <label>
          Execution data kept
          <select
            value={saveData}
            disabled={!canWrite}
            onChange={(e) => setSaveData(e.target.value as SaveData | '')}
            data-testid="flow-settings-save-data"
          >
            <option value="">the organisation&apos;s default</option>
            <option value="all">all: steps and logs</option>
            <option value="errors">errors: steps and logs of executions that did not succeed</option>
            <option value="none">none: each execution&apos;s summary only</option>
          </select>
        </label>
        <p className="muted small">
          Execution data kept applies at once, to executions ending from now on. Runs on and timeout are part of the
          definition: they are saved with the next revision.
        </p>
        <ErrorNote error={error} />
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          {canWrite ? (
            <button type="submit" className="button primary" data-testid="flow-settings-submit">
              Apply
            </button>
          ) : null}
        </div>
      </form>
    </Modal>
  );
}
