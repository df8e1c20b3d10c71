import type { LiveExecution } from './executionState';
import { Json, StatusBadge, formatTime } from '../components/ui';

/** Everything one node did in an execution: each visit/iteration with input, output, error, and its logs. */
export function StepPanel({
  nodeId,
  live,
  canRetry,
  onRetryFrom,
  onClose,
}: {
  nodeId: string;
  live: LiveExecution;
  canRetry: boolean;
  onRetryFrom: () => void;
  onClose: () => void;
}) {
  const steps = live.steps.filter((step) => step.node_id === nodeId);
  const logs = live.logs.filter((line) => line.node_id === nodeId);
  return (
    <aside className="side-panel step-panel" aria-label={`Steps of ${nodeId}`} data-testid="step-panel">
      <header className="side-panel-head">
        <h2>{nodeId}</h2>
        <button type="button" className="icon-button" aria-label="Close steps" onClick={onClose}>
          ×
        </button>
      </header>
      {steps.length === 0 ? <p className="muted">This node has not run.</p> : null}
      {steps.map((step) => (
        <section
          key={`${step.visit}-${JSON.stringify(step.iteration)}`}
          className="step"
          data-testid={`step-${nodeId}-${step.visit}-${Array.isArray(step.iteration) ? step.iteration.join('.') : (step.iteration ?? '')}`}
        >
          <div className="step-head">
            <StatusBadge status={step.status} />
            <span className="small">
              visit {step.visit}
              {step.iteration !== null && step.iteration !== undefined
                ? ` · item ${Array.isArray(step.iteration) ? step.iteration.join('.') : step.iteration}`
                : ''}{' '}
              · {step.attempts} attempt{step.attempts === 1 ? '' : 's'}
            </span>
            <span className="muted small">{formatTime(step.started_at)}</span>
          </div>
          <h3>Input</h3>
          <Json value={step.input} label="Step input" />
          <h3>Output</h3>
          <Json value={step.output} label="Step output" />
          {step.error ? (
            <>
              <h3>Error</h3>
              <div className="error-note" data-testid="step-error">
                <strong>{step.error.type}</strong>: {step.error.message} (attempt {step.error.attempt})
              </div>
            </>
          ) : null}
        </section>
      ))}
      <h3>Logs</h3>
      {logs.length ? (
        <ul className="log-lines">
          {logs.map((line, index) => (
            <li key={index} className={`log-${line.level}`}>
              <span className="muted">{formatTime(line.at)}</span> [{line.level}] {line.message}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small">No logs.</p>
      )}
      {canRetry ? (
        <button type="button" className="button small" onClick={onRetryFrom} data-testid="retry-from-node">
          Retry from this node
        </button>
      ) : null}
    </aside>
  );
}
