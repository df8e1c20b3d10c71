import { Link, useNavigate, useSearchParams } from 'react-router';
import { useExecutions, useFlows } from '../api/hooks';
import type { ExecutionStatus } from '../api/models';
import { ErrorNote, Loading, PageHeader, StatusBadge, formatTime } from '../components/ui';

const STATUSES: ExecutionStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'];

export default function ExecutionsPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const flowId = params.get('flow_id') ?? '';
  const status = STATUSES.find((s) => s === params.get('status')) ?? '';
  const cursor = params.get('cursor') ?? '';
  const flows = useFlows();
  const executions = useExecutions({
    flow_id: flowId || undefined,
    status: status || undefined,
    cursor: cursor || undefined,
  });
  const flowName = new Map((flows.data?.items ?? []).map((f) => [f.id, f.name]));
  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    if (name !== 'cursor') next.delete('cursor');
    setParams(next);
  };
  return (
    <section>
      <PageHeader title="Executions">
        <label className="inline">
          Flow
          <select
            value={flowId}
            onChange={(e) => setFilter('flow_id', e.target.value)}
            data-testid="executions-filter-flow"
          >
            <option value="">all flows</option>
            {(flows.data?.items ?? []).map((f) => (
              <option key={f.id} value={f.id}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Status
          <select
            value={status}
            onChange={(e) => setFilter('status', e.target.value)}
            data-testid="executions-filter-status"
          >
            <option value="">any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      <ErrorNote error={executions.error} />
      {executions.isPending ? <Loading /> : null}
      <table className="table" data-testid="executions-list">
        <thead>
          <tr>
            <th>Status</th>
            <th>Flow</th>
            <th>Revision</th>
            <th>Trigger</th>
            <th>Queued</th>
            <th>Finished</th>
            <th>Id</th>
          </tr>
        </thead>
        <tbody>
          {(executions.data?.items ?? []).map((execution) => (
            <tr
              key={execution.id}
              data-testid={`execution-row-${execution.id}`}
              className="clickable-row"
              // The whole row opens the execution; its links (the flow) keep their own target.
              onClick={(event) => {
                if ((event.target as HTMLElement).closest('a, button') || window.getSelection()?.toString()) return;
                void navigate(`/executions/${execution.id}`);
              }}
            >
              <td>
                <Link to={`/executions/${execution.id}`}>
                  <StatusBadge status={execution.status} />
                </Link>
              </td>
              <td>
                <Link to={`/flows/${execution.flow_id}`}>{flowName.get(execution.flow_id) ?? execution.flow_id}</Link>
              </td>
              <td>{execution.revision}</td>
              <td>{execution.trigger?.type ?? '—'}</td>
              <td>{formatTime(execution.queued_at)}</td>
              <td>{formatTime(execution.finished_at)}</td>
              <td>
                <Link to={`/executions/${execution.id}`} className="mono">
                  {execution.id.slice(0, 12)}
                </Link>
              </td>
            </tr>
          ))}
          {executions.data && executions.data.items.length === 0 ? (
            <tr>
              <td colSpan={7} className="muted">
                No executions.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {executions.data?.next_cursor ? (
        <button
          type="button"
          className="button"
          onClick={() => setFilter('cursor', executions.data?.next_cursor ?? '')}
        >
          Older
        </button>
      ) : null}
    </section>
  );
}
