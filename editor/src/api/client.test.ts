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

/** A fetch that answers every request with `response()` and keeps the requests. */
function recorder(response: () => Response) {
  const calls: Request[] = [];
  const fetchImpl: typeof fetch = async (input) => {
    calls.push(input as Request);
    return response();
  };
  return { calls, fetchImpl };
}

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });

const ORIGIN = 'http://localhost:8080';

describe('API client', () => {
  it('sends the CSRF cookie value on unsafe methods with cookie auth, not on GET', async () => {
    const { calls, fetchImpl } = recorder(() => json(200, { name: 'x', value: 1 }));
    const client = new ApiClient({
      baseUrl: ORIGIN,
      mode: 'cookie',
      fetchImpl,
      readCookies: () => 'a=1; flomation_csrf=abc%3D; b=2',
    });
    await client.listVariables().catch(() => undefined);
    await client.putVariable('x', 1);
    expect(calls[0].headers.get('X-CSRF-Token')).toBeNull();
    expect(calls[1].headers.get('X-CSRF-Token')).toBe('abc=');
    expect(calls[1].credentials).toBe('same-origin');
    expect(calls[1].method).toBe('PUT');
    expect(calls[1].url).toBe(`${ORIGIN}/api/v1/variables/x`);
    expect(await calls[1].text()).toBe('{"value":1}');
  });

  it('keeps the login token and sends it as Bearer on another origin', async () => {
    const { calls, fetchImpl } = recorder(() => json(200, { token: 'tok', user: {} }));
    const store = new MemoryStore();
    const client = new ApiClient({ baseUrl: 'https://api.example', mode: 'bearer', fetchImpl, tokenStore: store });
    await client.login('a@b.c', 'pw');
    await client.me();
    expect(store.getItem('flomation.token')).toBe('tok');
    expect(calls[1].headers.get('Authorization')).toBe('Bearer tok');
    expect(calls[1].url).toBe('https://api.example/api/v1/me');
  });

  it('keeps no token in storage with cookie auth', async () => {
    const { fetchImpl } = recorder(() => json(200, { token: 'tok', user: {} }));
    const store = new MemoryStore();
    const client = new ApiClient({
      baseUrl: ORIGIN,
      mode: 'cookie',
      fetchImpl,
      tokenStore: store,
      readCookies: () => '',
    });
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
    const client = new ApiClient({ baseUrl: ORIGIN, mode: 'cookie', fetchImpl, readCookies: () => '' });
    client.events.onUnauthorized = () => {
      unauthorized += 1;
    };
    const error = await client.validate({ version: 1, nodes: [], edges: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).problems[0].node_id).toBe('a');
    expect(unauthorized).toBe(0);

    const denied = new ApiClient({
      baseUrl: ORIGIN,
      mode: 'cookie',
      fetchImpl: recorder(() => json(401, { title: 'no' })).fetchImpl,
      readCookies: () => '',
    });
    denied.events.onUnauthorized = () => {
      unauthorized += 1;
    };
    await denied.listFlows().catch(() => undefined);
    expect(unauthorized).toBe(1);
    // Signing in with a wrong password is not a lost session.
    await denied.login('a@b.c', 'wrong').catch(() => undefined);
    expect(unauthorized).toBe(1);
  });

  it("reads FastAPI's own {detail: [...]} answers and non-JSON answers as problems", async () => {
    const fastapi = new ApiClient({
      baseUrl: ORIGIN,
      mode: 'bearer',
      fetchImpl: recorder(() => json(422, { detail: [{ loc: ['body', 'name'], msg: 'missing' }] })).fetchImpl,
    });
    const error = (await fastapi.listFlows().catch((e: unknown) => e)) as ApiError;
    expect(error.problems).toEqual([{ loc: ['body', 'name'], msg: 'missing' }]);

    const text = new ApiClient({
      baseUrl: ORIGIN,
      mode: 'bearer',
      fetchImpl: recorder(() => new Response('teapot', { status: 418, statusText: 'Teapot' })).fetchImpl,
    });
    const plain = (await text.listFlows().catch((e: unknown) => e)) as ApiError;
    expect(plain.status).toBe(418);
    expect(plain.problem).toMatchObject({ title: 'Teapot', detail: 'teapot' });
  });

  it('reports an unreachable API instead of an error answer', async () => {
    const reach: boolean[] = [];
    const client = new ApiClient({
      baseUrl: ORIGIN,
      mode: 'cookie',
      fetchImpl: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    client.events.onReachability = (ok) => reach.push(ok);
    await expect(client.listFlows()).rejects.toBeInstanceOf(ApiUnreachableError);
    expect(reach).toEqual([false]);

    const gateway = new ApiClient({
      baseUrl: ORIGIN,
      mode: 'cookie',
      fetchImpl: recorder(() => json(503, {})).fetchImpl,
    });
    await expect(gateway.listFlows()).rejects.toBeInstanceOf(ApiUnreachableError);
  });

  it('chooses cookie auth on the same origin and Bearer on another', () => {
    expect(authModeFor('', 'http://localhost:8080')).toBe('cookie');
    expect(authModeFor('http://localhost:8080/', 'http://localhost:8080')).toBe('cookie');
    expect(authModeFor('http://localhost:8080', 'http://localhost:5173')).toBe('bearer');
  });
});
