// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { initApi } from './api/instance';
import { App, createQueryClient } from './App';

/** The API over HTTP, as the browser sees it: 401 until signed in, then one flow. */
function fakeApi(role: string, listGivesLastRun = true) {
  const session = { signedIn: false };
  const calls: string[] = [];
  const fetchImpl: typeof fetch = async (input) => {
    const request = input as Request;
    const url = new URL(request.url);
    const path = url.pathname;
    calls.push(`${request.method} ${path}`);
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
    if (path === '/api/v1/auth/login') {
      session.signedIn = true;
      return json(200, { token: 't', user: { id: 'u', email: 'a@b.c', name: 'A', role } });
    }
    if (!session.signedIn) return json(401, { title: 'Unauthorized', status: 401 });
    if (path === '/api/v1/me')
      return json(200, { id: 'u', email: 'a@b.c', name: 'A', organization: { id: 'o', name: 'Org' }, role });
    if (path === '/api/v1/flows') {
      const flow = {
        id: 'f1',
        name: 'Nightly report',
        description: '',
        revision: 2,
        created_at: '2026-01-01T00:00:00Z',
        updated_at: '2026-01-01T00:00:00Z',
      };
      return json(200, {
        items: [listGivesLastRun ? { ...flow, last_execution: { id: 'e1', status: 'failed' } } : flow],
        next_cursor: null,
      });
    }
    if (path === '/api/v1/executions') {
      const query = url.searchParams;
      if (query.get('flow_id') === 'f1' && query.get('limit') === '1')
        return json(200, { items: [{ id: 'e9', flow_id: 'f1', status: 'succeeded' }], next_cursor: null });
    }
    return json(200, { items: [], next_cursor: null });
  };
  return { fetchImpl, calls, session };
}

async function signIn() {
  const form = await screen.findByTestId('login-form');
  fireEvent.change(within(form).getByTestId('login-email'), { target: { value: 'a@b.c' } });
  fireEvent.change(within(form).getByTestId('login-password'), { target: { value: 'pw' } });
  fireEvent.click(within(form).getByTestId('login-submit'));
}

describe('the app shell', () => {
  it('asks to sign in, then lists flows with their last run, offering editors to create', async () => {
    const api = fakeApi('editor');
    initApi({ apiBaseUrl: '' }, api.fetchImpl);
    const { unmount } = render(<App queryClient={createQueryClient()} />);
    await signIn();
    expect(await screen.findByText('Nightly report')).toBeTruthy();
    expect(screen.getByTestId('flow-last-status-f1').getAttribute('data-status')).toBe('failed');
    expect(screen.queryByTestId('create-flow')).not.toBeNull();
    expect(screen.queryByTestId('nav-users')).toBeNull();
    // The list gave the last execution: no extra call per flow.
    expect(api.calls.filter((c) => c.includes('/executions'))).toEqual([]);
    unmount();
  });

  it('asks for the newest execution of each flow when the list does not carry it', async () => {
    initApi({ apiBaseUrl: '' }, fakeApi('editor', false).fetchImpl);
    const { unmount } = render(<App queryClient={createQueryClient()} />);
    await signIn();
    const badge = await screen.findByTestId('flow-last-status-f1');
    expect(badge.getAttribute('data-status')).toBe('succeeded');
    unmount();
  });

  it('offers a viewer nothing to change', async () => {
    initApi({ apiBaseUrl: '' }, fakeApi('viewer').fetchImpl);
    const { unmount } = render(<App queryClient={createQueryClient()} />);
    await signIn();
    expect(await screen.findByText('Nightly report')).toBeTruthy();
    expect(screen.queryByTestId('create-flow')).toBeNull();
    expect(screen.queryByTestId('archive-flow-f1')).toBeNull();
    unmount();
  });

  it('signs in again in a dialog over the page when the session ends', async () => {
    const api = fakeApi('editor');
    initApi({ apiBaseUrl: '' }, api.fetchImpl);
    const { unmount } = render(<App queryClient={createQueryClient()} />);
    await signIn();
    expect(await screen.findByText('Nightly report')).toBeTruthy();
    api.session.signedIn = false;
    fireEvent.click(screen.getByTestId('nav-executions'));
    const dialog = await screen.findByTestId('relogin-dialog');
    // The app stays mounted underneath (unsaved work in it is kept), not replaced by a login page.
    expect(screen.getByTestId('current-user')).toBeTruthy();
    fireEvent.change(within(dialog).getByTestId('login-email'), { target: { value: 'a@b.c' } });
    fireEvent.change(within(dialog).getByTestId('login-password'), { target: { value: 'pw' } });
    fireEvent.click(within(dialog).getByTestId('login-submit'));
    expect(await screen.findByTestId('executions-list')).toBeTruthy();
    await waitFor(() => expect(screen.queryByTestId('relogin-dialog')).toBeNull());
    unmount();
  });
});
