import createClient, { type Client } from 'openapi-fetch';
import type { FlowDefinition, JsonValue } from '../flow/format';
import { ApiError, ApiUnreachableError, problemOf } from './errors';
import type {
  Body,
  Connection,
  ConnectionType,
  CreatedRunnerToken,
  Execution,
  ExecutionQuery,
  ExecutionSummary,
  Flow,
  FlowSummary,
  NodeType,
  Revision,
  Trigger,
  Variable,
} from './models';
import type { paths } from './schema.gen';

export type AuthMode = 'cookie' | 'bearer';

export interface ClientEvents {
  /** A call answered 401: the session is gone (not raised for the login call itself). */
  onUnauthorized?: () => void;
  /** Whether the last call reached the API. */
  onReachability?: (reachable: boolean) => void;
}

export interface ClientOptions {
  /** Where the API is: an absolute URL (the page's origin when it serves the editor). */
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
const LIST_LIMIT = 500;

export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

function connectionPath(name: string): string {
  return `/api/v1/connections/${encodeURIComponent(name)}`;
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

/** What openapi-fetch answers: the parsed body of a 2xx, else the parsed error body. */
type Answer<D> = { data?: D; error?: unknown; response: Response };

/**
 * A narrower type for an answer whose document type leaves fields open (see models.ts). It
 * does not compile unless the editor's type is one the document's type admits, so an API
 * change that breaks the editor's reading of an answer fails the type check.
 */
function refine<Editor>() {
  return <Api>(value: Api & (Editor extends Api ? unknown : never)): Editor => value as unknown as Editor;
}

/**
 * The API over openapi-fetch, typed by the generated schema: paths, parameters, bodies and
 * answers all come from the OpenAPI document. This layer adds authentication (Bearer, or CSRF
 * for cookie sessions), reachability and 401 reporting, and problem+json as `ApiError`.
 */
export class ApiClient {
  readonly baseUrl: string;
  readonly mode: AuthMode;
  readonly http: Client<paths>;
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
    this.http = createClient<paths>({
      baseUrl: this.baseUrl,
      headers: { Accept: 'application/json' },
      credentials: this.mode === 'cookie' ? 'same-origin' : 'omit',
      fetch: (request) => this.send(request),
    });
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

  /** Every request goes out here: authenticated, and reported as reaching the API or not. */
  private async send(request: Request): Promise<Response> {
    for (const [name, value] of Object.entries(this.authHeaders(request.method))) request.headers.set(name, value);
    let response: Response;
    try {
      response = await this.fetchImpl(request);
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
    return response;
  }

  /** The answer's data, or `ApiError` with its problem+json (401 reported unless `quiet401`). */
  async call<D>(pending: Promise<Answer<D>>, quiet401 = false): Promise<D> {
    const { data, error, response } = await pending;
    if (response.ok) return data as D;
    if (response.status === 401 && !quiet401) this.events.onUnauthorized?.();
    throw new ApiError(response.status, problemOf(response, error));
  }

  async ping(): Promise<boolean> {
    try {
      const response = await this.fetchImpl(`${this.baseUrl}/healthz`, { credentials: 'omit' });
      const ok = !GATEWAY_DOWN.has(response.status);
      this.events.onReachability?.(ok);
      return ok;
    } catch {
      this.events.onReachability?.(false);
      return false;
    }
  }

  // ---- auth ----

  async login(email: string, password: string) {
    const answer = await this.call(this.http.POST('/api/v1/auth/login', { body: { email, password } }), true);
    // With cookie auth the HttpOnly cookie is the session: keep no copy script could read.
    if (this.mode === 'bearer') this.token = answer.token;
    return answer;
  }

  async logout(): Promise<void> {
    try {
      await this.call(this.http.POST('/api/v1/auth/logout'), true);
    } finally {
      this.token = null;
    }
  }

  me() {
    return this.call(this.http.GET('/api/v1/me'), true);
  }

  // ---- flows ----

  listFlows(query: { archived?: boolean } = {}) {
    return this.call(this.http.GET('/api/v1/flows', { params: { query: { limit: LIST_LIMIT, ...query } } })).then(
      (page) => ({ ...page, items: page.items.map(refine<FlowSummary>()) }),
    );
  }
  getFlow(id: string) {
    return this.call(this.http.GET('/api/v1/flows/{flow_id}', { params: { path: { flow_id: id } } })).then(
      refine<Flow>(),
    );
  }
  createFlow(body: Body<'CreateFlowBody'>) {
    return this.call(this.http.POST('/api/v1/flows', { body })).then(refine<Flow>());
  }
  saveFlow(id: string, body: Body<'SaveFlowBody'>) {
    return this.call(this.http.PUT('/api/v1/flows/{flow_id}', { params: { path: { flow_id: id } }, body })).then(
      refine<Flow>(),
    );
  }
  patchFlow(id: string, body: Body<'PatchFlowBody'>) {
    return this.call(this.http.PATCH('/api/v1/flows/{flow_id}', { params: { path: { flow_id: id } }, body })).then(
      refine<Flow>(),
    );
  }
  archiveFlow(id: string) {
    return this.call(this.http.DELETE('/api/v1/flows/{flow_id}', { params: { path: { flow_id: id } } }));
  }
  listRevisions(id: string) {
    return this.call(
      this.http.GET('/api/v1/flows/{flow_id}/revisions', {
        params: { path: { flow_id: id }, query: { limit: LIST_LIMIT } },
      }),
    );
  }
  getRevision(id: string, revision: number) {
    return this.call(
      this.http.GET('/api/v1/flows/{flow_id}/revisions/{revision}', { params: { path: { flow_id: id, revision } } }),
    ).then(refine<Revision>());
  }
  diff(id: string, from: number, to: number) {
    return this.call(
      this.http.GET('/api/v1/flows/{flow_id}/diff', { params: { path: { flow_id: id }, query: { from, to } } }),
    );
  }
  restoreRevision(id: string, revision: number, message?: string) {
    return this.call(
      this.http.POST('/api/v1/flows/{flow_id}/revisions/{revision}/restore', {
        params: { path: { flow_id: id, revision } },
        body: { message },
      }),
    ).then(refine<Flow>());
  }
  validate(definition: FlowDefinition) {
    return this.call(this.http.POST('/api/v1/flows/validate', { body: { definition } }));
  }
  nodeTypes() {
    return this.call(this.http.GET('/api/v1/node-types')).then((answer) => answer.items.map(refine<NodeType>()));
  }

  // ---- executions ----

  createExecution(flowId: string, body: Body<'ExecutionRequest'>, idempotencyKey?: string) {
    return this.call(
      this.http.POST('/api/v1/flows/{flow_id}/executions', {
        params: { path: { flow_id: flowId } },
        body,
        headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {},
      }),
    ).then(refine<Execution>());
  }
  getExecution(id: string) {
    return this.call(
      this.http.GET('/api/v1/executions/{execution_id}', { params: { path: { execution_id: id } } }),
    ).then(refine<Execution>());
  }
  listExecutions(query: ExecutionQuery = {}) {
    return this.call(this.http.GET('/api/v1/executions', { params: { query } })).then((page) => ({
      ...page,
      items: page.items.map(refine<ExecutionSummary>()),
    }));
  }
  cancelExecution(id: string) {
    return this.call(
      this.http.POST('/api/v1/executions/{execution_id}/cancel', { params: { path: { execution_id: id } } }),
    );
  }
  retryExecution(id: string, fromNode?: string) {
    return this.call(
      this.http.POST('/api/v1/executions/{execution_id}/retry', {
        params: { path: { execution_id: id } },
        body: fromNode ? { from_node: fromNode } : {},
      }),
    ).then(refine<Execution>());
  }
  /** The `text/event-stream` of an execution's events, from after `lastEventId`. */
  executionEvents(id: string, lastEventId: string | null, signal: AbortSignal) {
    return this.call(
      this.http.GET('/api/v1/executions/{execution_id}/events', {
        params: {
          path: { execution_id: id },
          header: lastEventId !== null ? { 'Last-Event-ID': lastEventId } : {},
        },
        headers: { Accept: 'text/event-stream' },
        parseAs: 'stream',
        signal,
      }),
    );
  }

  // ---- variables and secrets ----

  listVariables() {
    return this.call(this.http.GET('/api/v1/variables')).then((list) => ({
      ...list,
      items: list.items.map(refine<Variable>()),
    }));
  }
  putVariable(name: string, value: JsonValue) {
    return this.call(this.http.PUT('/api/v1/variables/{name}', { params: { path: { name } }, body: { value } })).then(
      refine<Variable>(),
    );
  }
  deleteVariable(name: string) {
    return this.call(this.http.DELETE('/api/v1/variables/{name}', { params: { path: { name } } }));
  }
  listSecrets() {
    return this.call(this.http.GET('/api/v1/secrets'));
  }
  putSecret(name: string, value: string) {
    return this.call(this.http.PUT('/api/v1/secrets/{name}', { params: { path: { name } }, body: { value } }));
  }
  deleteSecret(name: string) {
    return this.call(this.http.DELETE('/api/v1/secrets/{name}', { params: { path: { name } } }));
  }

  // ---- connections ----

  listConnectionTypes() {
    return this.call(this.http.GET('/api/v1/connection-types')).then((items) => items.map(refine<ConnectionType>()));
  }
  listConnections() {
    return this.call(this.http.GET('/api/v1/connections', { params: { query: { limit: LIST_LIMIT } } }));
  }
  putConnection(name: string, body: Body<'ConnectionBody'>) {
    return this.call(this.http.PUT('/api/v1/connections/{name}', { params: { path: { name } }, body })).then(
      refine<Connection>(),
    );
  }
  deleteConnection(name: string) {
    return this.call(this.http.DELETE('/api/v1/connections/{name}', { params: { path: { name } } }));
  }
  /** Runs the type's probe on a runner (within 15 s); the answer is also kept on the connection. */
  testConnection(name: string) {
    return this.call(
      this.http.POST('/api/v1/connections/{name}/test', { params: { path: { name } }, body: { runs_on: {} } }),
    );
  }
  /** Where the browser goes to connect an OAuth 2 connection (the API answers 302 to the provider). */
  oauthStartUrl(name: string): string {
    return `${this.baseUrl}${connectionPath(name)}/oauth/start`;
  }

  // ---- triggers ----

  listTriggers(flowId: string) {
    return this.call(
      this.http.GET('/api/v1/flows/{flow_id}/triggers', {
        params: { path: { flow_id: flowId }, query: { limit: LIST_LIMIT } },
      }),
    ).then((page) => ({ ...page, items: page.items.map(refine<Trigger>()) }));
  }
  createTrigger(flowId: string, body: Body<'TriggerCreate'>) {
    return this.call(
      this.http.POST('/api/v1/flows/{flow_id}/triggers', { params: { path: { flow_id: flowId } }, body }),
    );
  }
  patchTrigger(id: string, body: Body<'TriggerUpdate'>) {
    return this.call(this.http.PATCH('/api/v1/triggers/{trigger_id}', { params: { path: { trigger_id: id } }, body }));
  }
  deleteTrigger(id: string) {
    return this.call(this.http.DELETE('/api/v1/triggers/{trigger_id}', { params: { path: { trigger_id: id } } }));
  }

  // ---- runners ----

  listRunners() {
    return this.call(this.http.GET('/api/v1/runners', { params: { query: { limit: LIST_LIMIT } } }));
  }
  deleteRunner(id: string) {
    return this.call(this.http.DELETE('/api/v1/runners/{runner_id}', { params: { path: { runner_id: id } } }));
  }
  listRunnerTokens() {
    return this.call(this.http.GET('/api/v1/runner-tokens', { params: { query: { limit: LIST_LIMIT } } }));
  }
  createRunnerToken(body: Body<'RunnerTokenCreate'>) {
    return this.call(this.http.POST('/api/v1/runner-tokens', { body })).then(refine<CreatedRunnerToken>());
  }
  deleteRunnerToken(id: string) {
    return this.call(this.http.DELETE('/api/v1/runner-tokens/{token_id}', { params: { path: { token_id: id } } }));
  }

  // ---- users, tokens, organisation ----

  listUsers() {
    return this.call(this.http.GET('/api/v1/users', { params: { query: { limit: LIST_LIMIT } } }));
  }
  createUser(body: Body<'UserCreate'>) {
    return this.call(this.http.POST('/api/v1/users', { body }));
  }
  patchUser(id: string, body: Body<'UserUpdate'>) {
    return this.call(this.http.PATCH('/api/v1/users/{user_id}', { params: { path: { user_id: id } }, body }));
  }
  deleteUser(id: string) {
    return this.call(this.http.DELETE('/api/v1/users/{user_id}', { params: { path: { user_id: id } } }));
  }
  listTokens() {
    return this.call(this.http.GET('/api/v1/tokens', { params: { query: { limit: LIST_LIMIT } } }));
  }
  createToken(body: Body<'TokenCreate'>) {
    return this.call(this.http.POST('/api/v1/tokens', { body }));
  }
  deleteToken(id: string) {
    return this.call(this.http.DELETE('/api/v1/tokens/{token_id}', { params: { path: { token_id: id } } }));
  }
  getOrganization() {
    return this.call(this.http.GET('/api/v1/organization'));
  }
  patchOrganization(body: Body<'OrganizationUpdate'>) {
    return this.call(this.http.PATCH('/api/v1/organization', { body }));
  }
}
