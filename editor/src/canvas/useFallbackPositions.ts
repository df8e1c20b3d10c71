import { useMemo } from 'react';
import type { FlowDefinition } from '../flow/format';
import { autoLayout, needsLayout } from './layout';

/**
 * Laid-out positions for nodes that have none stored (flows written by hand or through the
 * API), used for drawing only: the definition keeps no position until the user moves a node.
 */
export function useFallbackPositions(
  definition: FlowDefinition,
  measured: Readonly<Record<string, { width: number; height: number }>>,
): Map<string, { x: number; y: number }> | undefined {
  const needs = needsLayout(definition);
  // Recompute only when the graph's shape changes, not on every move.
  const shape = needs ? JSON.stringify([definition.nodes.map((n) => [n.id, !!n.position]), definition.edges]) : '';
  return useMemo(() => {
    if (!needs) return undefined;
    const laid = autoLayout(definition, measured);
    const out = new Map<string, { x: number; y: number }>();
    for (const node of laid.nodes) if (node.position) out.set(node.id, node.position);
    return out;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);
}
