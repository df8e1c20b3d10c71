import { useMemo, useState } from 'react';
import { useDiff, useRevision } from '../api/hooks';
import type { NodeType } from '../api/models';
import { ReadOnlyCanvas } from '../canvas/ReadOnlyCanvas';
import { ErrorNote, Loading } from '../components/ui';
import { buildDiffGraph, diffSummary, fieldChanges, showValue } from '../flow/diff';

/** Two revisions on one canvas: added green, removed red, changed amber. */
export function DiffView({
  flowId,
  from,
  to,
  nodeTypes,
  onExit,
}: {
  flowId: string;
  from: number;
  to: number;
  nodeTypes: Map<string, NodeType>;
  onExit: () => void;
}) {
  const diff = useDiff(flowId, from, to);
  const before = useRevision(flowId, from);
  const after = useRevision(flowId, to);
  const [selected, setSelected] = useState<string | null>(null);
  const graph = useMemo(
    () =>
      diff.data && before.data?.definition && after.data?.definition
        ? buildDiffGraph(before.data.definition, after.data.definition, diff.data)
        : null,
    [diff.data, before.data, after.data],
  );
  const view = useMemo(
    () =>
      graph
        ? { nodeDiff: graph.nodeStatus, changedFields: graph.changedFields, edgeDiff: graph.edgeStatus }
        : undefined,
    [graph],
  );
  const changes = useMemo(
    () =>
      selected && graph?.nodeStatus.get(selected) === 'changed'
        ? fieldChanges(
            before.data?.definition.nodes.find((n) => n.id === selected),
            after.data?.definition.nodes.find((n) => n.id === selected),
          )
        : [],
    [selected, graph, before.data, after.data],
  );
  const error = diff.error ?? before.error ?? after.error;
  const summary = graph ? diffSummary(graph) : null;
  return (
    <div className="diff-view" data-testid="diff-view" data-from={from} data-to={to}>
      <div className="mode-banner">
        <strong>
          Changes from revision {from} to {to}
        </strong>
        {summary ? (
          <span className="legend" data-testid="diff-summary">
            <span className="legend-added">{summary.added} added</span>
            <span className="legend-removed">{summary.removed} removed</span>
            <span className="legend-changed">{summary.changed} changed</span>
            <span className="muted">
              edges +{summary.edgesAdded} −{summary.edgesRemoved}
            </span>
            {graph?.settingsChanged.length ? (
              <span className="legend-changed">settings: {graph.settingsChanged.join(', ')}</span>
            ) : null}
          </span>
        ) : null}
        <button type="button" className="button small" onClick={onExit} data-testid="diff-exit">
          Back to editing
        </button>
      </div>
      <ErrorNote error={error} />
      {!graph && !error ? <Loading what="Comparing" /> : null}
      {graph ? (
        <div className="diff-body">
          <ReadOnlyCanvas
            definition={graph.definition}
            nodeTypes={nodeTypes}
            view={view}
            selected={selected}
            onSelect={setSelected}
            testId="diff-canvas"
          />
          {selected ? (
            <aside className="side-panel" aria-label="Node change" data-testid="diff-node-detail">
              <h2>{selected}</h2>
              <p>{graph.nodeStatus.get(selected)}</p>
              {changes.length ? (
                <table className="diff-fields" data-testid="diff-fields">
                  <thead>
                    <tr>
                      <th>Field</th>
                      <th>Before</th>
                      <th>After</th>
                    </tr>
                  </thead>
                  <tbody>
                    {changes.map((change) => (
                      <tr key={change.path} data-testid={`diff-field-${change.path}`}>
                        <th scope="row">
                          <code>{change.path}</code>
                        </th>
                        <td className="diff-before">
                          <pre>{showValue(change.before)}</pre>
                        </td>
                        <td className="diff-after">
                          <pre>{showValue(change.after)}</pre>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : graph.changedFields.get(selected)?.length ? (
                <p>Changed: {graph.changedFields.get(selected)?.join(', ')}</p>
              ) : null}
            </aside>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
