import { useCallback, useState } from 'react';
import { ReactFlowProvider, type NodeChange } from '@xyflow/react';
import type { FlowDefinition } from '../flow/format';
import type { NodeType } from '../api/models';
import { FlowCanvas } from './FlowCanvas';
import { definitionToGraph, type CanvasNode, type GraphView } from './mapping';
import { useFallbackPositions } from './useFallbackPositions';
import { useReusedGraph } from './useReusedGraph';

/** A definition drawn for reading: a past revision, a diff, an execution. Clicks pick a node. */
export function ReadOnlyCanvas({
  definition,
  nodeTypes,
  view,
  selected,
  onSelect,
  testId,
}: {
  definition: FlowDefinition;
  nodeTypes: Map<string, NodeType>;
  view?: Omit<GraphView, 'nodeTypes' | 'readOnly' | 'measured' | 'selectedNodes'>;
  selected?: string | null;
  onSelect?: (id: string | null) => void;
  testId?: string;
}) {
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const fallbackPositions = useFallbackPositions(definition, measured);
  const graph = useReusedGraph(
    () =>
      definitionToGraph(definition, {
        ...view,
        nodeTypes,
        measured,
        readOnly: true,
        fallbackPositions,
        selectedNodes: new Set(selected ? [selected] : []),
      }),
    [definition, view, nodeTypes, measured, fallbackPositions, selected],
  );
  const onNodesChange = useCallback((changes: NodeChange<CanvasNode>[]) => {
    const sizes = changes.filter((c) => c.type === 'dimensions' && c.dimensions);
    if (!sizes.length) return;
    setMeasured((current) => {
      const next = { ...current };
      for (const change of sizes)
        if (change.type === 'dimensions' && change.dimensions) next[change.id] = change.dimensions;
      return next;
    });
  }, []);
  return (
    <ReactFlowProvider>
      <FlowCanvas
        nodes={graph.nodes}
        edges={graph.edges}
        readOnly
        onNodesChange={onNodesChange}
        onNodeClick={(id) => onSelect?.(id)}
        onPaneClick={() => onSelect?.(null)}
        testId={testId}
      />
    </ReactFlowProvider>
  );
}
