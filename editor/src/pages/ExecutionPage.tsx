import { useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useNodeTypes, useRevision } from '../api/hooks';
import { api } from '../api/instance';
import type { NodeType } from '../api/models';
import { useCan } from '../auth/session';
import { ReadOnlyCanvas } from '../canvas/ReadOnlyCanvas';
import { ErrorNote, Json, Loading, StatusBadge, formatTime } from '../components/ui';
import { runStates, takenEdges } from '../run/executionState';
import { StepPanel } from '../run/StepPanel';
import { useLiveExecution } from '../run/useLiveExecution';

const NO_TYPES = new Map<string, NodeType>();

export default function ExecutionPage() {
  const { executionId = '' } = useParams();
  const navigate = useNavigate();
  const { query, live, stream } = useLiveExecution(executionId);
  const execution = live?.execution ?? query.data;
  const revision = useRevision(execution?.flow_id ?? '', execution ? execution.revision : null);
  const nodeTypes = useNodeTypes().data ?? NO_TYPES;
  const canRun = useCan('executions.run');
  const [selected, setSelected] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const definition = revision.data?.definition;

  const view = useMemo(() => {
    if (!live || !definition) return undefined;
    return { runStates: runStates(live.steps), takenEdges: takenEdges(definition, live.steps) };
  }, [live, definition]);

  if (query.isPending) return <Loading what="Opening execution" />;
  if (query.error || !execution) return <ErrorNote error={query.error} />;
  const finished = live?.ended ?? false;

  const retry = async (fromNode?: string) => {
    setActionError(null);
    try {
      const next = await api().retryExecution(execution.id, fromNode);
      navigate(`/executions/${next.id}`);
    } catch (error) {
      setActionError(error);
    }
  };

  return (
    <div className="execution-page" data-testid="execution-page" data-execution-id={execution.id}>
      <div className="toolbar">
        <Link to={`/executions?flow_id=${execution.flow_id}`} className="button small ghost">
          ← Executions
        </Link>
        <h1 className="flow-title">Execution</h1>
        <StatusBadge status={execution.status} testId="execution-status" />
        <span className="muted small">
          <Link to={`/flows/${execution.flow_id}`}>flow</Link> rev {execution.revision} ·{' '}
          {execution.trigger?.type ?? 'manual'} · attempt {execution.attempt}
          {execution.retry_of ? (
            <>
              {' '}
              · retry of{' '}
              <Link to={`/executions/${execution.retry_of}`} data-testid="retry-of">
                {execution.retry_of.slice(0, 8)}
              </Link>
              {execution.from_node ? ` from ${execution.from_node}` : ''}
            </>
          ) : null}
          {execution.parent_execution_id ? (
            <>
              {' '}
              · subflow of{' '}
              <Link to={`/executions/${execution.parent_execution_id}`}>
                {execution.parent_execution_id.slice(0, 8)}
              </Link>
            </>
          ) : null}
        </span>
        <span className={`stream stream-${stream}`} data-testid="stream-status" aria-live="polite">
          {stream === 'idle' ? '' : stream}
        </span>
        <span className="toolbar-spacer" />
        <span className="legend run-legend" aria-label="Node colours">
          <span className="legend-running">running</span>
          <span className="legend-added">succeeded</span>
          <span className="legend-removed">failed</span>
          <span className="muted">skipped</span>
        </span>
        {canRun && !finished ? (
          <button
            type="button"
            className="button small danger"
            data-testid="execution-cancel"
            onClick={async () => {
              try {
                await api().cancelExecution(execution.id);
              } catch (error) {
                setActionError(error);
              }
            }}
          >
            Cancel
          </button>
        ) : null}
        {canRun && finished ? (
          <button type="button" className="button small" data-testid="execution-retry" onClick={() => void retry()}>
            Retry
          </button>
        ) : null}
      </div>
      {execution.status_detail ? (
        <div className="notice" role="status" data-testid="status-detail">
          {execution.status_detail}
        </div>
      ) : null}
      {execution.error ? (
        <div className="error-note" data-testid="execution-error">
          <strong>{execution.error.type}</strong> in {execution.error.node_id ?? 'the flow'}: {execution.error.message}
        </div>
      ) : null}
      <ErrorNote error={actionError ?? revision.error} />
      <div className="editor-main">
        <div className="editor-body">
          {definition ? (
            <ReadOnlyCanvas
              definition={definition}
              nodeTypes={nodeTypes}
              view={view}
              selected={selected}
              onSelect={setSelected}
              testId="execution-canvas"
            />
          ) : (
            <Loading />
          )}
          {selected && live ? (
            <StepPanel
              nodeId={selected}
              live={live}
              canRetry={canRun && finished}
              onRetryFrom={() => void retry(selected)}
              onClose={() => setSelected(null)}
            />
          ) : null}
        </div>
      </div>
      <details className="execution-details" open>
        <summary>Input, output and logs</summary>
        <div className="grid-3">
          <div>
            <h3>Input</h3>
            <Json value={execution.input} label="Execution input" />
          </div>
          <div>
            <h3>Output</h3>
            <div data-testid="execution-output">
              <Json value={execution.output} label="Execution output" />
            </div>
          </div>
          <div>
            <h3>Times</h3>
            <dl className="times">
              <dt>queued</dt>
              <dd>{formatTime(execution.queued_at)}</dd>
              <dt>started</dt>
              <dd>{formatTime(execution.started_at)}</dd>
              <dt>finished</dt>
              <dd>{formatTime(execution.finished_at)}</dd>
            </dl>
          </div>
        </div>
        <h3>Logs</h3>
        <ul className="log-lines" data-testid="execution-logs">
          {(live?.logs ?? []).map((line, index) => (
            <li key={index} className={`log-${line.level}`}>
              <span className="muted">{formatTime(line.at)}</span> [{line.level}]{' '}
              {line.node_id ? (
                <button type="button" className="link" onClick={() => setSelected(line.node_id ?? null)}>
                  {line.node_id}
                </button>
              ) : null}{' '}
              {line.message}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}
