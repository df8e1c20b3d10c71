import { useMemo, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useArchiveFlow, useFlows, useLastExecution } from '../api/hooks';
import { api } from '../api/instance';
import type { FlowSummary } from '../api/models';
import { useCan } from '../auth/session';
import { ConfirmButton, ErrorNote, Loading, Modal, PageHeader, StatusBadge, formatTime } from '../components/ui';
import { emptyDefinition } from '../flow/graph';

function LastRun({ flow }: { flow: FlowSummary }) {
  const last = useLastExecution(flow.id, flow.last_execution);
  const execution = flow.last_execution !== undefined ? flow.last_execution : last.data;
  if (!execution) return <StatusBadge status={null} />;
  return (
    <Link to={`/executions/${execution.id}`} title={formatTime(execution.queued_at)}>
      <StatusBadge status={execution.status} testId={`flow-last-status-${flow.id}`} />
    </Link>
  );
}

function CreateFlowDialog({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const flow = await api().createFlow({
        name,
        description: description || undefined,
        definition: emptyDefinition(),
        message: 'Created',
      });
      navigate(`/flows/${flow.id}`);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Modal title="New flow" onClose={onClose} testId="create-flow-dialog">
      <form onSubmit={submit} className="form">
        <label>
          Name
          <input
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-testid="create-flow-name"
            autoFocus
          />
        </label>
        <label>
          Description
          <input
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            data-testid="create-flow-description"
          />
        </label>
        <ErrorNote error={error} />
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button primary" data-testid="create-flow-submit">
            Create
          </button>
        </div>
      </form>
    </Modal>
  );
}

export default function FlowsPage() {
  const flows = useFlows();
  const archive = useArchiveFlow();
  const canWrite = useCan('flows.write');
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const items = flows.data?.items ?? [];
    return needle ? items.filter((f) => `${f.name} ${f.description ?? ''}`.toLowerCase().includes(needle)) : items;
  }, [flows.data, search]);

  return (
    <section>
      <PageHeader title="Flows">
        <input
          type="search"
          placeholder="Search flows"
          aria-label="Search flows"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          data-testid="flow-search"
        />
        {canWrite ? (
          <button type="button" className="button primary" onClick={() => setCreating(true)} data-testid="create-flow">
            New flow
          </button>
        ) : null}
      </PageHeader>
      <ErrorNote error={flows.error} />
      {flows.isPending ? <Loading /> : null}
      <table className="table" data-testid="flow-list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Revision</th>
            <th>Updated</th>
            <th>Last run</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {shown.map((flow) => (
            <tr key={flow.id} data-testid={`flow-row-${flow.id}`}>
              <td>
                <Link to={`/flows/${flow.id}`} className="strong">
                  {flow.name}
                </Link>
                {flow.description ? <div className="muted small">{flow.description}</div> : null}
              </td>
              <td>{flow.revision}</td>
              <td>{formatTime(flow.updated_at)}</td>
              <td>
                <LastRun flow={flow} />
              </td>
              <td className="row-actions">
                <Link to={`/flows/${flow.id}/triggers`} className="button small">
                  Triggers
                </Link>
                <Link to={`/executions?flow_id=${flow.id}`} className="button small">
                  Executions
                </Link>
                {canWrite ? (
                  <ConfirmButton
                    label={`Archive ${flow.name}`}
                    onConfirm={() => archive.mutate(flow.id)}
                    testId={`archive-flow-${flow.id}`}
                  >
                    Archive
                  </ConfirmButton>
                ) : null}
              </td>
            </tr>
          ))}
          {!flows.isPending && shown.length === 0 ? (
            <tr>
              <td colSpan={5} className="muted">
                {search ? 'No flow matches.' : 'No flows yet.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <ErrorNote error={archive.error} />
      {creating ? <CreateFlowDialog onClose={() => setCreating(false)} /> : null}
    </section>
  );
}
