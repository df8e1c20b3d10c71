import { useEffect, type RefObject } from 'react';
import { useReactFlow } from '@xyflow/react';
import { isBoxVisible } from '../panel/panelWidth';
import { DEFAULT_NODE_SIZE } from './layout';

/**
 * Pans the canvas (zoom kept) so the selected node is in view whenever the selection or
 * the side panel's width changes: opening the panel narrows the canvas, and a node near its
 * right edge would otherwise end up out of sight while its form is edited.
 */
export function useKeepVisible(container: RefObject<HTMLElement | null>, selected: string | null, panelWidth: number) {
  const { getInternalNode, flowToScreenPosition, setCenter, getZoom } = useReactFlow();
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
        const width = node.measured.width ?? DEFAULT_NODE_SIZE.width;
        const height = node.measured.height ?? DEFAULT_NODE_SIZE.height;
        const position = node.internals.positionAbsolute;
        const topLeft = flowToScreenPosition(position);
        const zoom = getZoom();
        const box = { x: topLeft.x, y: topLeft.y, width: width * zoom, height: height * zoom };
        if (isBoxVisible(box, area)) return;
        void setCenter(position.x + width / 2, position.y + height / 2, { zoom, duration: 200 });
      });
    });
    return () => {
      cancelAnimationFrame(first);
      cancelAnimationFrame(second);
    };
  }, [container, selected, panelWidth, getInternalNode, flowToScreenPosition, setCenter, getZoom]);
}
