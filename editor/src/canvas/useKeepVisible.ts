import { useEffect, useRef, type RefObject } from 'react';
import { useReactFlow, type Viewport } from '@xyflow/react';
import { panIntoView } from '../panel/panelWidth';
import { DEFAULT_NODE_SIZE } from './layout';

function sameView(a: Viewport, b: Viewport): boolean {
  return Math.abs(a.x - b.x) < 1 && Math.abs(a.y - b.y) < 1 && a.zoom === b.zoom;
}

/**
 * Pans the canvas (zoom kept, by as little as it takes) so the selected node is in view
 * whenever the selection or the side panel's width changes: opening the panel narrows the
 * canvas, and a node near its right edge (a node just dropped there) would otherwise be out
 * of sight while its form is edited. When the panel closes again and nobody moved the view
 * meanwhile, the view goes back to where it was, so closing the panel undoes its pan.
 */
export function useKeepVisible(container: RefObject<HTMLElement | null>, selected: string | null, panelWidth: number) {
  const { getInternalNode, getViewport, setViewport } = useReactFlow();
  // The view before our pan and the one our pan made.
  const panned = useRef<{ before: Viewport; after: Viewport } | null>(null);

  useEffect(() => {
    if (selected) return;
    const last = panned.current;
    panned.current = null;
    if (!last) return;
    if (sameView(getViewport(), last.after)) void setViewport(last.before);
  }, [selected, getViewport, setViewport]);

  useEffect(() => {
    if (!selected) return;
    // After the panel is laid out: the canvas's new size is what counts.
    let second = 0;
    const first = requestAnimationFrame(() => {
      second = requestAnimationFrame(() => {
        const pane = container.current?.querySelector('.react-flow');
        const node = getInternalNode(selected);
        if (!pane || !node) return;
        const area = pane.getBoundingClientRect();
        const viewport = getViewport();
        const position = node.internals.positionAbsolute;
        const width = (node.measured.width ?? DEFAULT_NODE_SIZE.width) * viewport.zoom;
        const height = (node.measured.height ?? DEFAULT_NODE_SIZE.height) * viewport.zoom;
        const box = {
          x: area.left + viewport.x + position.x * viewport.zoom,
          y: area.top + viewport.y + position.y * viewport.zoom,
          width,
          height,
        };
        const { dx, dy } = panIntoView(box, area);
        if (!dx && !dy) return;
        const after = { x: viewport.x + dx, y: viewport.y + dy, zoom: viewport.zoom };
        // Pans in a row (node after node) go back to the view before the first of them,
        // unless the user moved the view in between: then to that.
        const last = panned.current;
        panned.current = { before: last && sameView(viewport, last.after) ? last.before : viewport, after };
        void setViewport(after);
      });
    });
    return () => {
      cancelAnimationFrame(first);
      cancelAnimationFrame(second);
    };
  }, [container, selected, panelWidth, getInternalNode, getViewport, setViewport]);
}
