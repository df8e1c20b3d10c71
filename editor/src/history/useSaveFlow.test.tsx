// @vitest-environment jsdom
import { describe, expect, it, beforeEach } from 'vitest';
import { act, renderHook } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { initApi } from '../api/instance';
import type { Flow } from '../api/models';
import type { FlowDefinition } from '../flow/format';
import { editorStore, isDirty } from '../store/editorStore';
import { loadStash } from '../flow/draft';
import { ifElse } from '../test/fixtures';
import { useSaveFlow } from './useSaveFlow';

/** The API as seen over HTTP: a flow whose current revision someone else has moved to 4. */
function fakeServer() {
  const theirs: FlowDefinition = { ...ifElse, nodes: ifElse.nodes.filter((n) => n.id !== 'no') };
  const state = {
    revision: 4,
    definition: theirs,
    puts: [] as { base_revision: number; message?: string; definition: FlowDefinition }[],
  };
  const flow = (): Flow => ({
    id: 'f1',
    name: 'F',
    description: '',
    revision: state.revision,
    max_concurrent_executions: null,
    save_data: null,
    runs_on: {},
    created_by: null,
    created_at: '',
    updated_at: '',
    archived_at: null,
    definition: state.definition,
    hash: '',
  });
  const fetchImpl: typeof fetch = async (input) => {
    const request = input as Request;
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
    const path = new URL(request.url).pathname;
    if (path === '/api/v1/flows/f1' && request.method === 'PUT') {
      const body = JSON.parse(await request.text());
      state.puts.push(body);
      if (body.base_revision !== state.revision)
        return json(409, { title: 'Conflict', current_revision: state.revision });
      state.revision += 1;
      state.definition = body.definition;
      return json(200, flow());
    }
    if (path === '/api/v1/flows/f1') return json(200, flow());
    return json(200, { items: [], next_cursor: null });
  };
  return { state, fetchImpl, theirs };
}

function setup() {
  const server = fakeServer();
  initApi({ apiBaseUrl: '' }, server.fetchImpl);
  const queryClient = new QueryClient();
  const wrapper = ({ children }: { children: ReactNode }) => (
    <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
  );
  editorStore.getState().load('f1', ifElse, 3);
  const mine: FlowDefinition = { ...ifElse, nodes: [...ifElse.nodes, { id: 'extra', type: 'log' }] };
  editorStore.getState().commit(mine);
  const hook = renderHook(() => useSaveFlow('f1'), { wrapper });
  return { server, hook, mine };
}

describe('saving over a newer revision', () => {
  beforeEach(() => localStorage.clear());

  it('reports the conflict and keeps the working copy untouched', async () => {
    const { hook, mine } = setup();
    await act(async () => {
      expect(await hook.result.current.save('mine')).toBe(false);
    });
    expect(hook.result.current.conflict?.currentRevision).toBe(4);
    expect(editorStore.getState().history.present).toBe(mine);
    expect(isDirty(editorStore.getState())).toBe(true);
  });

  it('keeps mine as a new revision on top of theirs', async () => {
    const { hook, server, mine } = setup();
    await act(async () => {
      await hook.result.current.save('mine');
    });
    await act(async () => {
      await hook.result.current.keepMine();
    });
    const last = server.state.puts.at(-1);
    expect(last?.base_revision).toBe(4);
    expect(last?.message).toBe('mine (kept over revision 4)');
    expect(last?.definition).toEqual(mine);
    expect(editorStore.getState().baseRevision).toBe(5);
    expect(isDirty(editorStore.getState())).toBe(false);
  });

  it('reloads theirs and stashes mine so it can be brought back', async () => {
    const { hook, server, mine } = setup();
    await act(async () => {
      await hook.result.current.save('mine');
    });
    await act(async () => {
      await hook.result.current.reloadTheirs();
    });
    expect(editorStore.getState().history.present).toEqual(server.theirs);
    expect(editorStore.getState().baseRevision).toBe(4);
    expect(loadStash('f1')?.definition).toEqual(mine);
  });
});
