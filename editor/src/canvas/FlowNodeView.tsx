import { memo } from 'react';
import { Handle, Position, type NodeProps } from '@xyflow/react';
import type { CanvasNode } from './mapping';
import { nodeGlyph } from './icons';
import { PORT_LABELS } from '../flow/ports';

/** One node on the canvas: icon, name, type, input handle left, one handle per output port right. */
function FlowNodeViewImpl({ id, data, selected }: NodeProps<CanvasNode>) {
  const { node, nodeType, ports, run, diff, problems } = data;
  const status = run?.status;
  const classes = ['flow-node'];
  if (selected) classes.push('selected');
  if (status) classes.push(`run-${status}`);
  if (diff && diff !== 'unchanged') classes.push(`diff-${diff}`);
  if (problems?.length) classes.push('has-problems');
  return (
    <div
      className={classes.join(' ')}
      data-testid={`node-${id}`}
      data-status={status ?? undefined}
      data-diff={diff ?? undefined}
      data-type={node.type}
      aria-label={`${node.name || id} (${nodeType?.title ?? node.type})${status ? `, ${status}` : ''}`}
    >
      {data.hasInput ? (
        <Handle
          type="target"
          position={Position.Left}
          id="in"
          data-testid={`handle-${id}-in`}
          className="handle-in"
          aria-label={`${id} input`}
        />
      ) : null}
      <div className="flow-node-head">
        <span className="flow-node-icon" aria-hidden>
          {nodeGlyph(node.type, nodeType)}
        </span>
        <div className="flow-node-title">
          <div className="flow-node-name">{node.name || id}</div>
          <div className="flow-node-type">
            {nodeType?.title ?? node.type}
            {node.name ? ` · ${id}` : ''}
          </div>
        </div>
      </div>
      {ports.length ? (
        <ul className="flow-node-ports" aria-label="Output ports">
          {ports.map((port) => (
            <li
              key={port}
              className={`port-label port-${port === 'error' ? 'error' : 'normal'}${data.unknownPorts?.includes(port) ? ' port-unknown' : ''}`}
              title={
                data.unknownPorts?.includes(port)
                  ? `This node has no port “${port}”: remove or reconnect the edge`
                  : undefined
              }
            >
              {data.unknownPorts?.includes(port) ? '⚠ ' : ''}
              {PORT_LABELS[port] ?? port}
              <Handle
                type="source"
                position={Position.Right}
                id={port}
                data-testid={`handle-${id}-${port}`}
                aria-label={`${id} ${port} port`}
                className={port === 'error' ? 'handle-error' : 'handle-out'}
              />
            </li>
          ))}
        </ul>
      ) : null}
      {run ? (
        <div className="flow-node-run" data-testid={`node-run-${id}`}>
          <span>{status}</span>
          {run.visits > 1 ? <span title="visits">×{run.visits}</span> : null}
          {run.attempts > 1 ? <span title="attempts">{run.attempts} attempts</span> : null}
          {run.iterations > 0 ? <span title="iterations">{run.iterations} items</span> : null}
        </div>
      ) : null}
      {problems?.length ? (
        <div className="flow-node-problems" title={problems.join('\n')} data-testid={`node-problems-${id}`}>
          ⚠ {problems.length} problem{problems.length > 1 ? 's' : ''}
        </div>
      ) : null}
    </div>
  );
}

export const FlowNodeView = memo(FlowNodeViewImpl);
