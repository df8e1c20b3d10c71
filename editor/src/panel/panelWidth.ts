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

type Box = { x: number; y: number; width: number; height: number };
type Area = { left: number; top: number; right: number; bottom: number };

/** The smallest shift (screen pixels) along one axis that puts [start, start+size] inside [low, high]. */
function shift(start: number, size: number, low: number, high: number): number {
  if (start < low || size > high - low) return low - start; // too big: its start in view
  if (start + size > high) return high - (start + size);
  return 0;
}

/**
 * How far to pan (screen pixels) so a node's box lies within the visible canvas, `margin`
 * in from its edges; `{dx: 0, dy: 0}` when it already does. A node bigger than the canvas
 * gets its top-left corner in view.
 */
export function panIntoView(box: Box, area: Area, margin = 16): { dx: number; dy: number } {
  return {
    dx: shift(box.x, box.width, area.left + margin, area.right - margin),
    dy: shift(box.y, box.height, area.top + margin, area.bottom - margin),
  };
}

/** Whether a node's box lies within the visible canvas, `margin` in from its edges. */
export function isBoxVisible(box: Box, area: Area, margin = 16): boolean {
  const { dx, dy } = panIntoView(box, area, margin);
  return dx === 0 && dy === 0;
}
