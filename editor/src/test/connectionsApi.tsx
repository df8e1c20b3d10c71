import type { ReactNode } from 'react';
import { QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { createQueryClient } from '../App';
import { initApi } from '../api/instance';
import type { Connection, ConnectionTestResult, ConnectionType } from '../api/models';
import { MASK, oauthType, postgresType, redisType } from './connections';
import { SessionProvider } from '../auth/session';

export interface Recorded {
  method: string;
  path: string;
  body: unknown;
}

export interface FakeConnectionsApi {
  fetchImpl: typeof fetch;
  requests: Recorded[];
  /** What the API holds, unmasked: what a PUT stored. */
  stored: Map<string, Connection>;
}

function masked(connection: Connection, types: ConnectionType[]): Connection {
  const secret = new Set(types.find((t) => t.type === connection.type)?.secret_fields ?? []);
  const values = Object.fromEntries(
    Object.entries(connection.values).map(([key, value]) => [key, secret.has(key) && value ? MASK : value]),
  );
  return { ...connection, values };
}

/**
 * The connections API over HTTP as integrations.md describes it: secret fields answered as
 * "***", a PUT's "***" keeps the stored value. `test` is what `POST .../test` answers: a
 * result, or a problem's status.
 */
export function fakeConnectionsApi(
  role: string,
  connections: Connection[] = [],
  {
    types = [postgresType, redisType, oauthType],
    test = { ok: true, message: 'connected to PostgreSQL 16.4', duration_ms: 12 } as ConnectionTestResult | number,
  } = {},
): FakeConnectionsApi {
  const stored = new Map(connections.map((c) => [c.name, c]));
  const requests: Recorded[] = [];
  const fetchImpl: typeof fetch = async (input) => {
    const request = input as Request;
    const path = new URL(request.url).pathname;
    const text = request.method === 'GET' || request.method === 'DELETE' ? '' : await request.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    requests.push({ method: request.method, path, body });
    const json = (status: number, answer: unknown) =>
      new Response(JSON.stringify(answer), { status, headers: { 'Content-Type': 'application/json' } });
    if (path === '/api/v1/me')
      return json(200, { id: 'u', email: 'a@b.c', name: 'A', organization: { id: 'o', name: 'Org' }, role });
    if (path === '/api/v1/connection-types') return json(200, types);
    if (path === '/api/v1/connections')
      return json(200, { items: [...stored.values()].map((c) => masked(c, types)), next_cursor: null });
    if (/^\/api\/v1\/connections\/[^/]+\/test$/.test(path))
      return typeof test === 'number'
        ? json(test, { title: 'Not Found', status: test, detail: 'No such connection' })
        : json(200, test);
    const one = /^\/api\/v1\/connections\/([^/]+)$/.exec(path);
    if (one) {
      const name = decodeURIComponent(one[1]);
      if (request.method === 'DELETE') {
        stored.delete(name);
        return new Response(null, { status: 204 });
      }
      if (request.method === 'PUT') {
        const { type, values } = body as { type: string; values: Record<string, unknown> };
        const before = stored.get(name);
        const merged = Object.fromEntries(
          Object.entries(values).map(([key, value]) => [key, value === MASK ? before?.values[key] : value]),
        );
        const saved: Connection = {
          name,
          type,
          values: merged,
          status: 'ok',
          updated_at: '2026-12-07T12:00:00Z',
          last_tested_at: null,
          last_error: null,
        };
        stored.set(name, saved);
        return json(200, masked(saved, types));
      }
    }
    return json(404, { title: 'Not Found', status: 404 });
  };
  return { fetchImpl, requests, stored };
}

/** Renders `ui` for a signed-in user of the fake API, as the app does. */
export function renderSignedIn(ui: ReactNode, api: FakeConnectionsApi, url = '/connections') {
  initApi({ apiBaseUrl: '' }, api.fetchImpl);
  return render(
    <MemoryRouter initialEntries={[url]}>
      <QueryClientProvider client={createQueryClient()}>
        <SessionProvider>{ui}</SessionProvider>
      </QueryClientProvider>
    </MemoryRouter>,
  );
}
