import { useCallback, useState } from 'react';

/** The side panel's width, remembered per browser. */
export const PANEL_WIDTH_KEY = 'flomation.panelWidth';
export const DEFAULT_PANEL_WIDTH = 360;
export const MIN_PANEL_WIDTH = 280;

/** Clamped to what leaves the canvas usable: at least 280 px, at most 70% of the window. */
export function clampPanelWidth(width: number, viewport: number = window.innerWidth): number {
  const max = Math.max(MIN_PANEL_WIDTH, Math.floor(viewport * 0.7));
  if (!Number.isFinite(width)) return DEFAULT_PANEL_WIDTH;
  return Math.min(max, Math.max(MIN_PANEL_WIDTH, Math.round(width)));
}

function stored(): number {
  const value = Number(localStorage.getItem(PANEL_WIDTH_KEY));
  return value ? clampPanelWidth(value) : DEFAULT_PANEL_WIDTH;
}

/** `[width, setWidth]`; a width set is clamped and kept in localStorage. */
export function usePanelWidth(): [number, (width: number) => void] {
  const [width, setState] = useState(stored);
  const setWidth = useCallback((next: number) => {
    const clamped = clampPanelWidth(next);
    setState(clamped);
    localStorage.setItem(PANEL_WIDTH_KEY, String(clamped));
  }, []);
  return [width, setWidth];
}

/**
 * Whether a node's box (screen pixels) lies within the visible canvas, `margin` in from its
 * edges. A node bigger than the canvas counts as visible when its top-left corner is.
 */
export function isBoxVisible(
  box: { x: number; y: number; width: number; height: number },
  area: { left: number; top: number; right: number; bottom: number },
  margin = 16,
): boolean {
  const right = Math.min(box.x + box.width, box.x + (area.right - area.left) - 2 * margin);
  const bottom = Math.min(box.y + box.height, box.y + (area.bottom - area.top) - 2 * margin);
  return (
    box.x >= area.left + margin &&
    box.y >= area.top + margin &&
    right <= area.right - margin &&
    bottom <= area.bottom - margin
  );
}
