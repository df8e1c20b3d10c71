// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { Modal } from './ui';

afterEach(cleanup);

describe('a dialog', () => {
  it('focuses its first field, not Close, so typing a space does not close it', () => {
    // jsdom has no showModal: what a browser does (focus the first focusable element) is done here.
    HTMLDialogElement.prototype.showModal = function showModal(this: HTMLDialogElement) {
      this.setAttribute('open', '');
      this.querySelector<HTMLElement>('button, input')?.focus();
    };
    const onClose = vi.fn();
    render(
      <Modal title="New flow" onClose={onClose}>
        <input aria-label="Name" />
      </Modal>,
    );
    const name = screen.getByLabelText('Name');
    expect(document.activeElement).toBe(name);
    fireEvent.keyDown(document.activeElement as Element, { key: ' ' });
    fireEvent.keyUp(document.activeElement as Element, { key: ' ' });
    expect(onClose).not.toHaveBeenCalled();
  });

  it('keeps the focus where autoFocus put it', () => {
    render(
      <Modal title="Two fields" onClose={() => undefined}>
        <input aria-label="First" />
        <input aria-label="Second" autoFocus />
      </Modal>,
    );
    expect(document.activeElement).toBe(screen.getByLabelText('Second'));
  });
});
