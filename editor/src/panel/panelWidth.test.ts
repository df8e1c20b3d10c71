// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { act, renderHook } from '@testing-library/react';
import { clampPanelWidth, isBoxVisible, PANEL_WIDTH_KEY, panIntoView, usePanelWidth } from './panelWidth';

describe('the side panel width', () => {
  it('is clamped between 280 px and 70% of the window', () => {
    expect(clampPanelWidth(100, 1280)).toBe(280);
    expect(clampPanelWidth(2000, 1280)).toBe(896);
    expect(clampPanelWidth(420.4, 1280)).toBe(420);
    expect(clampPanelWidth(Number.NaN, 1280)).toBe(360);
  });

  it('is remembered across editor openings', () => {
    localStorage.removeItem(PANEL_WIDTH_KEY);
    const first = renderHook(() => usePanelWidth());
    expect(first.result.current[0]).toBe(360);
    act(() => first.result.current[1](480));
    expect(localStorage.getItem(PANEL_WIDTH_KEY)).toBe('480');
    const second = renderHook(() => usePanelWidth());
    expect(second.result.current[0]).toBe(480);
  });
});

describe('whether a node is in view', () => {
  const area = { left: 200, top: 50, right: 900, bottom: 700 };
  it('is true inside the canvas and false when the panel side cut it off', () => {
    expect(isBoxVisible({ x: 300, y: 100, width: 200, height: 72 }, area)).toBe(true);
    expect(isBoxVisible({ x: 800, y: 100, width: 200, height: 72 }, area)).toBe(false);
    expect(isBoxVisible({ x: 100, y: 100, width: 200, height: 72 }, area)).toBe(false);
    expect(isBoxVisible({ x: 300, y: 690, width: 200, height: 72 }, area)).toBe(false);
  });

  it('pans by as little as it takes to bring a node in', () => {
    // 100 px past the right edge (the panel's side): 116 px left, with the margin.
    expect(panIntoView({ x: 800, y: 100, width: 200, height: 72 }, area)).toEqual({ dx: -116, dy: 0 });
    expect(panIntoView({ x: 100, y: 10, width: 200, height: 72 }, area)).toEqual({ dx: 116, dy: 56 });
    expect(panIntoView({ x: 300, y: 100, width: 200, height: 72 }, area)).toEqual({ dx: 0, dy: 0 });
    // Wider than the canvas: its left edge comes into view.
    expect(panIntoView({ x: 100, y: 100, width: 2000, height: 72 }, area).dx).toBe(116);
  });
});
