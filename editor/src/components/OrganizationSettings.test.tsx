// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { initApi } from '../api/instance';
import type { Organization } from '../api/models';
import { OrganizationSettings } from './OrganizationSettings';

/** The organisation endpoints over HTTP, keeping what PATCH sends. */
function fakeServer() {
  const organization: Organization = {
    id: 'o1',
    name: 'Acme',
    error_flow_id: null,
    defaults: { save_data: 'all' },
    created_at: '2026-01-01T00:00:00Z',
  };
  const patches: unknown[] = [];
  const fetchImpl: typeof fetch = async (input) => {
    const request = input as Request;
    const json = (body: unknown) =>
      new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
    const path = new URL(request.url).pathname;
    if (path === '/api/v1/organization' && request.method === 'PATCH') {
      const body = JSON.parse(await request.text());
      patches.push(body);
      return json({ ...organization, ...body, defaults: { ...organization.defaults, ...body.defaults } });
    }
    if (path === '/api/v1/organization') return json(organization);
    return json({ items: [], next_cursor: null });
  };
  return { patches, fetchImpl };
}

afterEach(cleanup);

describe('OrganizationSettings', () => {
  it('shows and saves what executions keep by default', async () => {
    const server = fakeServer();
    initApi({ apiBaseUrl: '' }, server.fetchImpl);
    render(
      <QueryClientProvider client={new QueryClient()}>
        <OrganizationSettings />
      </QueryClientProvider>,
    );

    const select = (await screen.findByTestId('organization-save-data')) as HTMLSelectElement;
    expect(select.value).toBe('all');
    fireEvent.change(select, { target: { value: 'errors' } });
    fireEvent.click(screen.getByTestId('organization-submit'));

    await waitFor(() => expect(server.patches).toHaveLength(1));
    expect(server.patches[0]).toEqual({ name: 'Acme', error_flow_id: null, defaults: { save_data: 'errors' } });
    await screen.findByRole('status');
  });
});
