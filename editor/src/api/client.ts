import { ApiError, ApiUnreachableError } from './errors';
import type {
  ApiToken,
  CreateExecution,
  CreatedToken,
  Execution,
  Flow,
  FlowDefinition,
  FlowDiff,
  FlowSummary,
  JsonObject,
  JsonValue,
  LoginResponse,
  Me,
  NodeType,
  Organization,
  Page,
  ProblemDetails,
  Revision,
  Role,
  Runner,
  RunnerToken,
  SecretInfo,
  Trigger,
  TriggerType,
  User,
  ValidationProblem,
  Variable,
} from './types';

export type AuthMode = 'cookie' | 'bearer';

export interface ClientEvents {
  /** A call answered 401: the session is gone (not raised for the login call itself). */
  onUnauthorized?: () => void;
  /** Whether the last call reached the API. */
  onReachability?: (reachable: boolean) => void;
}

export interface ClientOptions {
  baseUrl: string;
  mode: AuthMode;
  fetchImpl?: typeof fetch;
  /** Where the bearer token is kept (sessionStorage in the browser). */
  tokenStore?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  /** Reads cookies (document.cookie in the browser) for the CSRF token. */
  readCookies?: () => string;
}

const TOKEN_KEY = 'flomation.token';
const CSRF_COOKIE = 'flomation_csrf';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const GATEWAY_DOWN = new Set([502, 503, 504]);

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

/** Same origin means cookie auth with CSRF; another origin means a Bearer token. */
export function authModeFor(apiBaseUrl: string, pageOrigin: string): AuthMode {
  if (!apiBaseUrl) return 'cookie';
  try {
    return new URL(apiBaseUrl, pageOrigin).origin === pageOrigin ? 'cookie' : 'bearer';
  } catch {
    return 'cookie';
  }
}

export class ApiClient {
  readonly baseUrl: string;
  readonly mode: AuthMode;
  events: ClientEvents = {};
  private readonly fetchImpl: typeof fetch;
  private readonly tokenStore?: ClientOptions['tokenStore'];
  private readonly readCookies: () => string;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.mode = options.mode;
    this.fetchImpl = options.fetchImpl ?? ((...args) => fetch(...args));
    this.tokenStore = options.tokenStore;
    this.readCookies = options.readCookies ?? (() => (typeof document === 'undefined' ? '' : document.cookie));
  }

  // ---- plumbing ----

  get token(): string | null {
    return this.tokenStore?.getItem(TOKEN_KEY) ?? null;
  }

  set token(value: string | null) {
    if (!this.tokenStore) return;
    if (value) this.tokenStore.setItem(TOKEN_KEY, value);
    else this.tokenStore.removeItem(TOKEN_KEY);
  }

  url(path: string, query?: Query): string {
    let url = `${this.baseUrl}${path}`;
    if (query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
      }
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    return url;
  }

  /** Headers that authenticate a call of this method (Bearer, or CSRF for cookie sessions). */
  authHeaders(method: string): Record<string, string> {
    const headers: Record<string, string> = {};
    if (this.mode === 'bearer') {
      const token = this.token;
      if (token) headers.Authorization = `Bearer ${token}`;
    } else if (UNSAFE.has(method.toUpperCase())) {
      const csrf = readCookie(this.readCookies(), CSRF_COOKIE);
      if (csrf) headers['X-CSRF-Token'] = csrf;
    }
    return headers;
  }

  /** fetch with auth, reachability and 401 reporting; the raw Response is returned. */
  async raw(method: string, path: string, options: RequestOptions = {}, quiet401 = false): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      ...this.authHeaders(method),
      ...options.headers,
    };
    let body: BodyInit | undefined;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path, options.query), {
        method,
        headers,
        body,
        signal: options.signal,
        credentials: this.mode === 'cookie' ? 'same-origin' : 'omit',
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      this.events.onReachability?.(false);
      throw new ApiUnreachableError(`The API at ${this.baseUrl || 'this origin'} cannot be reached.`);
    }
    if (GATEWAY_DOWN.has(response.status)) {
      this.events.onReachability?.(false);
      throw new ApiUnreachableError(`The API answered ${response.status}: it is not available right now.`);
    }
    this.events.onReachability?.(true);
    if (response.status === 401 && !quiet401) this.events.onUnauthorized?.();
    if (!response.ok) throw new ApiError(response.status, await readProblem(response));
    return response;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}, quiet401 = false): Promise<T> {
    const response = await this.raw(method, path, options, quiet401);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async ping(): Promise<boolean> {
    try {
      const response = await this.fetchImpl(this.url('/healthz'), { credentials: 'omit' });
      const ok = !GATEWAY_DOWN.has(response.status);
      this.events.onReachability?.(ok);
      return ok;
    } catch {
      this.events.onReachability?.(false);
      return false;
    }
  }

  // ---- auth ----

  async login(email: string, password: string): Promise<LoginResponse> {
    const answer = await this.request<LoginResponse>('POST', '/api/v1/auth/login', { body: { email, password } }, true);
    // With cookie auth the HttpOnly cookie is the session: keep no copy script could read.
    if (this.mode === 'bearer') this.token = answer.token;
    return answer;
  }

  async logout(): Promise<void> {
    try {
      await this.request<void>('POST', '/api/v1/auth/logout', {}, true);
    } finally {
      this.token = null;
    }
  }

  me(): Promise<Me> {
    return this.request('GET', '/api/v1/me', {}, true);
  }

  // ---- flows ----

  listFlows(query: Query = {}): Promise<Page<FlowSummary>> {
    return this.request('GET', '/api/v1/flows', { query: { limit: 500, ...query } });
  }
  getFlow(id: string): Promise<Flow> {
    return this.request('GET', `/api/v1/flows/${enc(id)}`);
  }
  createFlow(body: {
    name: string;
    description?: string;
    definition: FlowDefinition;
    message?: string;
  }): Promise<Flow> {
    return this.request('POST', '/api/v1/flows', { body });
  }
  saveFlow(
    id: string,
    body: { definition: FlowDefinition; message?: string; base_revision: number; name?: string; description?: string },
  ): Promise<Flow> {
    return this.request('PUT', `/api/v1/flows/${enc(id)}`, { body });
  }
  patchFlow(
    id: string,
    body: { name?: string; description?: string; max_concurrent_executions?: number | null },
  ): Promise<Flow> {
    return this.request('PATCH', `/api/v1/flows/${enc(id)}`, { body });
  }
  archiveFlow(id: string): Promise<void> {
    return this.request('DELETE', `/api/v1/flows/${enc(id)}`);
  }
  listRevisions(id: string): Promise<Page<Revision>> {
    return this.request('GET', `/api/v1/flows/${enc(id)}/revisions`, { query: { limit: 500 } });
  }
  getRevision(id: string, revision: number): Promise<Revision> {
    return this.request('GET', `/api/v1/flows/${enc(id)}/revisions/${revision}`);
  }
  diff(id: string, from: number, to: number): Promise<FlowDiff> {
    return this.request('GET', `/api/v1/flows/${enc(id)}/diff`, { query: { from, to } });
  }
  restoreRevision(id: string, revision: number, message?: string): Promise<Flow> {
    return this.request('POST', `/api/v1/flows/${enc(id)}/revisions/${revision}/restore`, { body: { message } });
  }
  validate(definition: FlowDefinition): Promise<{ valid: boolean; warnings?: ValidationProblem[] }> {
    return this.request('POST', '/api/v1/flows/validate', { body: { definition } });
  }
  nodeTypes(): Promise<{ items: NodeType[] }> {
    return this.request('GET', '/api/v1/node-types');
  }

  // ---- executions ----

  createExecution(flowId: string, body: CreateExecution, idempotencyKey?: string): Promise<Execution> {
    return this.request('POST', `/api/v1/flows/${enc(flowId)}/executions`, {
      body,
      headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
    });
  }
  getExecution(id: string): Promise<Execution> {
    return this.request('GET', `/api/v1/executions/${enc(id)}`);
  }
  listExecutions(
    query: { flow_id?: string; status?: string; limit?: number; cursor?: string } = {},
  ): Promise<Page<Execution>> {
    return this.request('GET', '/api/v1/executions', { query });
  }
  cancelExecution(id: string): Promise<void> {
    return this.request('POST', `/api/v1/executions/${enc(id)}/cancel`);
  }
  retryExecution(id: string, fromNode?: string): Promise<Execution> {
    return this.request('POST', `/api/v1/executions/${enc(id)}/retry`, {
      body: fromNode ? { from_node: fromNode } : {},
    });
  }

  // ---- variables and secrets ----

  listVariables(): Promise<Page<Variable>> {
    return this.request('GET', '/api/v1/variables', { query: { limit: 500 } });
  }
  putVariable(name: string, value: JsonValue): Promise<Variable> {
    return this.request('PUT', `/api/v1/variables/${enc(name)}`, { body: { value } });
  }
  deleteVariable(name: string): Promise<void> {
    return this.request('DELETE', `/api/v1/variables/${enc(name)}`);
  }
  listSecrets(): Promise<Page<SecretInfo>> {
    return this.request('GET', '/api/v1/secrets', { query: { limit: 500 } });
  }
  putSecret(name: string, value: string): Promise<SecretInfo> {
    return this.request('PUT', `/api/v1/secrets/${enc(name)}`, { body: { value } });
  }
  deleteSecret(name: string): Promise<void> {
    return this.request('DELETE', `/api/v1/secrets/${enc(name)}`);
  }

  // ---- triggers ----

  listTriggers(flowId: string): Promise<Page<Trigger>> {
    return this.request('GET', `/api/v1/flows/${enc(flowId)}/triggers`, { query: { limit: 500 } });
  }
  createTrigger(flowId: string, body: { type: TriggerType; config: JsonObject; enabled: boolean }): Promise<Trigger> {
    return this.request('POST', `/api/v1/flows/${enc(flowId)}/triggers`, { body });
  }
  patchTrigger(id: string, body: { config?: JsonObject; enabled?: boolean }): Promise<Trigger> {
    return this.request('PATCH', `/api/v1/triggers/${enc(id)}`, { body });
  }
  deleteTrigger(id: string): Promise<void> {
    return this.request('DELETE', `/api/v1/triggers/${enc(id)}`);
  }

  // ---- runners ----

  listRunners(): Promise<Page<Runner>> {
    return this.request('GET', '/api/v1/runners', { query: { limit: 500 } });
  }
  deleteRunner(id: string): Promise<void> {
    return this.request('DELETE', `/api/v1/runners/${enc(id)}`);
  }
  listRunnerTokens(): Promise<Page<RunnerToken>> {
    return this.request('GET', '/api/v1/runner-tokens', { query: { limit: 500 } });
  }
  createRunnerToken(body: {
    name: string;
    labels?: Record<string, string>;
    expires_at?: string;
  }): Promise<{ id: string; token: string }> {
    return this.request('POST', '/api/v1/runner-tokens', { body });
  }
  deleteRunnerToken(id: string): Promise<void> {
    return this.request('DELETE', `/api/v1/runner-tokens/${enc(id)}`);
  }

  // ---- users, tokens, organisation ----

  listUsers(): Promise<Page<User>> {
    return this.request('GET', '/api/v1/users', { query: { limit: 500 } });
  }
  createUser(body: { email: string; name: string; password: string; role: Role }): Promise<User> {
    return this.request('POST', '/api/v1/users', { body });
  }
  patchUser(id: string, body: { name?: string; role?: Role; password?: string }): Promise<User> {
    return this.request('PATCH', `/api/v1/users/${enc(id)}`, { body });
  }
  deleteUser(id: string): Promise<void> {
    return this.request('DELETE', `/api/v1/users/${enc(id)}`);
  }
  listTokens(): Promise<Page<ApiToken>> {
    return this.request('GET', '/api/v1/tokens', { query: { limit: 500 } });
  }
  createToken(body: { name: string; expires_at?: string }): Promise<CreatedToken> {
    return this.request('POST', '/api/v1/tokens', { body });
  }
  deleteToken(id: string): Promise<void> {
    return this.request('DELETE', `/api/v1/tokens/${enc(id)}`);
  }
  getOrganization(): Promise<Organization> {
    return this.request('GET', '/api/v1/organization');
  }
  patchOrganization(body: { name?: string; error_flow_id?: string | null }): Promise<Organization> {
    return this.request('PATCH', '/api/v1/organization', { body });
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}

async function readProblem(response: Response): Promise<ProblemDetails> {
  const text = await response.text().catch(() => '');
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      const problem = parsed as ProblemDetails & { detail?: unknown };
      // FastAPI's default error shape is {"detail": [...]}: read it as a list of problems.
      if (Array.isArray(problem.detail) && !problem.errors) {
        return {
          status: response.status,
          title: response.statusText,
          errors: problem.detail as ProblemDetails['errors'],
        };
      }
      return { status: response.status, ...problem } as ProblemDetails;
    }
  } catch {
    // not JSON: fall through
  }
  return {
    status: response.status,
    title: response.statusText || `HTTP ${response.status}`,
    detail: text.slice(0, 500) || undefined,
  };
}
