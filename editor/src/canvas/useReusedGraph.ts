import { useMemo, useRef, type DependencyList } from 'react';
import { reuseUnchanged, type CanvasEdge, type CanvasNode } from './mapping';

type Graph = { nodes: CanvasNode[]; edges: CanvasEdge[] };

/**
 * `useMemo` for a drawn graph that hands back the previous node and edge objects wherever
 * nothing changed (see `reuseUnchanged`), so a change to one node re-renders that node only.
 */
export function useReusedGraph(draw: () => Graph, deps: DependencyList): Graph {
  const previous = useRef<Graph | null>(null);
  return useMemo(() => {
    const graph = reuseUnchanged(previous.current, draw());
    previous.current = graph;
    return graph;
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `draw` is read with the caller's deps
  }, deps);
}
