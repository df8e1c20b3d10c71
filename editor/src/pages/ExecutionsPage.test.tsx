// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import ExecutionsPage from './ExecutionsPage';

vi.mock('../api/hooks', () => ({
  useFlows: () => ({ data: { items: [{ id: 'flow1', name: 'Nightly' }] } }),
  useExecutions: () => ({
    isPending: false,
    error: null,
    data: {
      items: [
        {
          id: 'exec123456789',
          flow_id: 'flow1',
          revision: 2,
          status: 'succeeded',
          trigger: { type: 'manual' },
          queued_at: '2026-01-01T00:00:00Z',
          finished_at: '2026-01-01T00:00:01Z',
        },
      ],
      next_cursor: null,
    },
  }),
}));

afterEach(cleanup);

function renderAt() {
  render(
    <MemoryRouter initialEntries={['/executions']}>
      <Routes>
        <Route path="/executions" element={<ExecutionsPage />} />
        <Route path="/executions/:id" element={<p>execution page</p>} />
        <Route path="/flows/:id" element={<p>flow page</p>} />
      </Routes>
    </MemoryRouter>,
  );
}

describe('the executions list', () => {
  it('opens an execution from anywhere on its row', () => {
    renderAt();
    fireEvent.click(screen.getByText('manual'));
    expect(screen.getByText('execution page')).toBeTruthy();
  });

  it('keeps the flow link in the row going to the flow', () => {
    renderAt();
    fireEvent.click(screen.getByRole('link', { name: 'Nightly' }));
    expect(screen.getByText('flow page')).toBeTruthy();
  });
});
