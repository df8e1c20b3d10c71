import type { KeyboardEvent, PointerEvent } from 'react';

/**
 * The drag handle on the side panel's left edge: dragging it left widens the panel. Arrow
 * keys resize by 16 px when it has the focus.
 */
export function PanelResizer({ width, onResize }: { width: number; onResize: (width: number) => void }) {
  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    event.preventDefault();
    const startX = event.clientX;
    const startWidth = width;
    const handle = event.currentTarget;
    handle.setPointerCapture?.(event.pointerId);
    const move = (e: globalThis.PointerEvent) => onResize(startWidth + (startX - e.clientX));
    const up = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', up);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
    handle.addEventListener('pointercancel', up);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'ArrowLeft') onResize(width + 16);
    else if (event.key === 'ArrowRight') onResize(width - 16);
    else return;
    event.preventDefault();
  };
  return (
    <div
      className="panel-resizer"
      role="separator"
      aria-orientation="vertical"
      aria-label="Resize the node panel"
      aria-valuenow={width}
      tabIndex={0}
      data-testid="panel-resizer"
      onPointerDown={onPointerDown}
      onKeyDown={onKeyDown}
    />
  );
}
