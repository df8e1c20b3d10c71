// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { initApi } from '../api/instance';
import type { Flow } from '../api/models';
import { ifElse } from '../test/fixtures';
import { FlowSettingsDialog } from './FlowSettingsDialog';

const flow = (saveData: Flow['save_data']): Flow => ({
  id: 'f1',
  name: 'F',
  description: '',
  revision: 1,
  max_concurrent_executions: null,
  save_data: saveData,
  runs_on: {},
  created_by: null,
  created_at: '',
  updated_at: '',
  archived_at: null,
  definition: ifElse,
  hash: '',
});

/** PATCH /api/v1/flows/f1 over HTTP, keeping what it is sent. */
function fakeServer(current: Flow) {
  const patches: unknown[] = [];
  const fetchImpl: typeof fetch = async (input) => {
    const request = input as Request;
    const path = new URL(request.url).pathname;
    let body: unknown = { items: [], next_cursor: null };
    if (path === '/api/v1/flows/f1' && request.method === 'PATCH') {
      const patch = JSON.parse(await request.text());
      patches.push(patch);
      body = { ...current, ...patch };
    }
    return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
  return { patches, fetchImpl };
}

function open(saveData: Flow['save_data']) {
  const current = flow(saveData);
  const server = fakeServer(current);
  initApi({ apiBaseUrl: '' }, server.fetchImpl);
  const onDefinition = vi.fn();
  const onClose = vi.fn();
  render(
    <QueryClientProvider client={new QueryClient()}>
      <FlowSettingsDialog flow={current} definition={ifElse} canWrite onDefinition={onDefinition} onClose={onClose} />
    </QueryClientProvider>,
  );
  return { patches: server.patches, onDefinition, onClose };
}

afterEach(cleanup);

describe('FlowSettingsDialog save_data', () => {
  it('sets what the flow keeps with a PATCH, not in its definition', async () => {
    const { patches, onDefinition, onClose } = open(null);
    const select = screen.getByTestId('flow-settings-save-data') as HTMLSelectElement;
    expect(select.value).toBe('');
    fireEvent.change(select, { target: { value: 'errors' } });
    fireEvent.click(screen.getByTestId('flow-settings-submit'));
    await vi.waitFor(() => expect(onClose).toHaveBeenCalledTimes(1));
    expect(patches).toEqual([{ name: 'F', description: '', max_concurrent_executions: null, save_data: 'errors' }]);
    expect(onDefinition).not.toHaveBeenCalled();
  });

  it('back to the organisation default sends null', async () => {
    const { patches, onDefinition, onClose } = open('none');
    const select = screen.getByTestId('flow-settings-save-data') as HTMLSelectElement;
    expect(select.value).toBe('none');
    fireEvent.change(select, { target: { value: '' } });
    fireEvent.click(screen.getByTestId('flow-settings-submit'));
    await vi.waitFor(() => expect(onClose).toHaveBeenCalledTimes(1));
    expect(patches).toEqual([{ name: 'F', description: '', max_concurrent_executions: null, save_data: null }]);
    expect(onDefinition).not.toHaveBeenCalled();
  });

  it('sends nothing when nothing changed', async () => {
    const { patches, onDefinition, onClose } = open('all');
    fireEvent.click(screen.getByTestId('flow-settings-submit'));
    await vi.waitFor(() => expect(onClose).toHaveBeenCalledTimes(1));
    expect(patches).toEqual([]);
    expect(onDefinition).not.toHaveBeenCalled();
  });
});
