import { describe, expect, it } from 'vitest';
import { ApiClient, authModeFor } from './client';
import { ApiError, ApiUnreachableError } from './errors';

class MemoryStore {
  private values = new Map<string, string>();
  getItem(key: string) {
    return this.values.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.values.set(key, value);
  }
  removeItem(key: string) {
    this.values.delete(key);
  }
}

function recorder(response: () => Response) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchImpl: typeof fetch = async (url, init) => {
    calls.push({ url: String(url), init: init ?? {} });
    return response();
  };
  return { calls, fetchImpl };
}

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });

describe('API client', () => {
  it('sends the CSRF cookie value on unsafe methods with cookie auth, not on GET', async () => {
    const { calls, fetchImpl } = recorder(() => json(200, {}));
    const client = new ApiClient({
      baseUrl: '',
      mode: 'cookie',
      fetchImpl,
      readCookies: () => 'a=1; flomation_csrf=abc%3D; b=2',
    });
    await client.request('GET', '/api/v1/flows');
    await client.request('PUT', '/api/v1/variables/x', { body: { value: 1 } });
    expect((calls[0].init.headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined();
    expect((calls[1].init.headers as Record<string, string>)['X-CSRF-Token']).toBe('abc=');
    expect(calls[1].init.credentials).toBe('same-origin');
  });

  it('keeps the login token and sends it as Bearer on another origin', async () => {
    const { calls, fetchImpl } = recorder(() => json(200, { token: 'tok', user: {} }));
    const store = new MemoryStore();
    const client = new ApiClient({ baseUrl: 'https://api.example', mode: 'bearer', fetchImpl, tokenStore: store });
    await client.login('a@b.c', 'pw');
    await client.request('GET', '/api/v1/me');
    expect(store.getItem('flomation.token')).toBe('tok');
    expect((calls[1].init.headers as Record<string, string>).Authorization).toBe('Bearer tok');
    expect(calls[1].url).toBe('https://api.example/api/v1/me');
  });

  it('keeps no token in storage with cookie auth', async () => {
    const { fetchImpl } = recorder(() => json(200, { token: 'tok', user: {} }));
    const store = new MemoryStore();
    const client = new ApiClient({ baseUrl: '', mode: 'cookie', fetchImpl, tokenStore: store, readCookies: () => '' });
    await client.login('a@b.c', 'pw');
    expect(store.getItem('flomation.token')).toBeNull();
  });

  it('raises problem+json as ApiError with its validation problems, and reports 401', async () => {
    let unauthorized = 0;
    const { fetchImpl } = recorder(() =>
      json(
        422,
        { title: 'Invalid', errors: [{ loc: ['nodes', 0], msg: 'bad', node_id: 'a', field: 'url' }] },
        'application/problem+json',
      ),
    );
    const client = new ApiClient({ baseUrl: '', mode: 'cookie', fetchImpl, readCookies: () => '' });
    client.events.onUnauthorized = () => {
      unauthorized += 1;
    };
    const error = await client.request('POST', '/api/v1/flows/validate').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).problems[0].node_id).toBe('a');
    expect(unauthorized).toBe(0);

    const denied = new ApiClient({
      baseUrl: '',
      mode: 'cookie',
      fetchImpl: recorder(() => json(401, { title: 'no' })).fetchImpl,
      readCookies: () => '',
    });
    denied.events.onUnauthorized = () => {
      unauthorized += 1;
    };
    await denied.request('GET', '/api/v1/flows').catch(() => undefined);
    expect(unauthorized).toBe(1);
  });

  it('reports an unreachable API instead of an error answer', async () => {
    const reach: boolean[] = [];
    const client = new ApiClient({
      baseUrl: '',
      mode: 'cookie',
      fetchImpl: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    client.events.onReachability = (ok) => reach.push(ok);
    await expect(client.request('GET', '/api/v1/flows')).rejects.toBeInstanceOf(ApiUnreachableError);
    expect(reach).toEqual([false]);
  });

  it('chooses cookie auth on the same origin and Bearer on another', () => {
    expect(authModeFor('', 'http://localhost:8080')).toBe('cookie');
    expect(authModeFor('http://localhost:8080/', 'http://localhost:8080')).toBe('cookie');
    expect(authModeFor('http://localhost:8080', 'http://localhost:5173')).toBe('bearer');
  });
});
