// Shapes of REST API v1, mirrored from shared/spec/api.md and flow-format.md.
// Fields the spec marks optional are optional here; unknown extra fields are tolerated
// (the API may add fields) and preserved where the editor round-trips documents.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type Role = 'owner' | 'admin' | 'editor' | 'viewer';

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface ValidationProblem {
  loc: (string | number)[];
  msg: string;
  node_id?: string;
  field?: string;
}

export interface ProblemDetails {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: ValidationProblem[];
  current_revision?: number;
  [key: string]: unknown;
}

// ---- auth and users ----
export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  created_at?: string;
  [key: string]: unknown;
}

export interface Me {
  id: string;
  email: string;
  name: string;
  organization: { id: string; name: string };
  role: Role;
}

export interface LoginResponse {
  token: string;
  user: User;
}

export interface ApiToken {
  id: string;
  name: string;
  expires_at?: string | null;
  created_at?: string;
  last_used_at?: string | null;
}

export interface CreatedToken {
  id: string;
  name: string;
  token: string;
}

export interface Organization {
  id: string;
  name: string;
  error_flow_id?: string | null;
}

// ---- flow definition (flow-format.md) ----
export interface Position {
  x: number;
  y: number;
}

export interface RetryPolicy {
  max_attempts?: number;
  delay_s?: number;
  backoff?: 'fixed' | 'exponential';
  max_delay_s?: number;
  jitter?: boolean;
}

export interface FlowNode {
  id: string;
  type: string;
  name?: string;
  config?: JsonObject;
  retry?: RetryPolicy;
  timeout_s?: number;
  max_visits?: number;
  position?: Position;
  [key: string]: unknown;
}

export interface FlowEdge {
  from: string;
  to: string;
  port?: string;
  [key: string]: unknown;
}

export interface FlowDefinition {
  version: 1;
  runs_on?: Record<string, string>;
  timeout_s?: number;
  nodes: FlowNode[];
  edges: FlowEdge[];
  [key: string]: unknown;
}

// ---- flows ----
export interface ExecutionSummary {
  id: string;
  status: ExecutionStatus;
  queued_at?: string;
  started_at?: string | null;
  finished_at?: string | null;
}

export interface FlowSummary {
  id: string;
  name: string;
  description?: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
  archived_at?: string | null;
  max_concurrent_executions?: number | null;
  /** Not in the spec: used when the API provides it, else fetched per flow. */
  last_execution?: ExecutionSummary | null;
}

export interface Flow extends FlowSummary {
  definition: FlowDefinition;
}

export interface Revision {
  revision: number;
  author: string | { id: string; name?: string; email?: string } | null;
  message: string | null;
  created_at: string;
  hash: string;
  definition?: FlowDefinition;
}

export interface FlowDiff {
  nodes: {
    added: string[];
    removed: string[];
    changed: (string | { id: string; fields?: string[]; [key: string]: unknown })[] | Record<string, string[]>;
  };
  edges: { added: FlowEdge[]; removed: FlowEdge[] };
  settings: { changed: string[] | Record<string, unknown> };
}

export interface NodePort {
  name: string;
  label?: string;
}

export interface NodeType {
  type: string;
  title: string;
  description: string;
  icon: string;
  group: string;
  /** Port names (strings) or port objects; switch adds one port per configured case. */
  ports: (string | NodePort)[];
  config_schema: JsonSchema;
  output_schema: JsonSchema | null;
}

export type JsonSchema = { [key: string]: unknown };

// ---- executions ----
export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
export type StepStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

export interface ExecutionError {
  node_id: string | null;
  type: string;
  message: string;
  attempt: number;
}

export interface Step {
  node_id: string;
  status: StepStatus;
  visit: number;
  /** The foreach item index; a list of indexes inside nested loops. */
  iteration: number | number[] | null;
  attempts: number;
  input: JsonValue;
  output: JsonValue;
  error: ExecutionError | null;
  started_at: string | null;
  finished_at: string | null;
  /** The output port the node chose, when the API records it. */
  port?: string | null;
  /** Output reused from the original execution by a retry from a later node. */
  reused?: boolean;
}

export interface LogLine {
  at: string;
  node_id: string | null;
  level: string;
  message: string;
}

export interface Execution {
  id: string;
  flow_id: string;
  revision: number;
  status: ExecutionStatus;
  status_detail: string | null;
  input: JsonValue;
  output: JsonValue;
  error: ExecutionError | null;
  trigger: { type: string; id?: string; [key: string]: unknown };
  retry_of: string | null;
  /** A retry that reused the outputs before this node. */
  from_node?: string | null;
  /** The execution whose subflow node started this one. */
  parent_execution_id?: string | null;
  runs_on?: Record<string, string>;
  runner_id: string | null;
  attempt: number;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  steps: Step[];
  logs: LogLine[];
}

export interface CreateExecution {
  input?: JsonValue;
  revision?: number;
  runs_on?: Record<string, string>;
}

// ---- variables and secrets ----
export interface Variable {
  name: string;
  value: JsonValue;
  updated_at?: string;
}

export interface SecretInfo {
  name: string;
  updated_at: string;
}

// ---- triggers ----
export type TriggerType = 'schedule' | 'webhook' | 's3' | 'git';

export interface ScheduleConfig {
  cron: string;
  timezone?: string;
  catch_up?: 'none' | 'one' | 'all';
  overlap?: 'allow' | 'skip' | 'queue';
}

export interface WebhookConfig {
  path: string;
  method?: string;
  auth?: { hmac_secret?: string; hmac_scheme?: 'standard-webhooks' | 'github'; token?: string };
  respond?: 'async' | 'sync';
  sync_timeout_s?: number;
}

export interface S3Config {
  bucket: string;
  prefix?: string;
  endpoint_url?: string;
  region?: string;
  credentials?: string;
  interval_s?: number;
}

export interface GitConfig {
  url: string;
  branch: string;
  credentials?: string;
  interval_s?: number;
}

export interface TriggerState {
  last_fired_at?: string | null;
  next_fire_at?: string | null;
  cursor?: unknown;
  owner?: string | null;
  lease_expires_at?: string | null;
  last_error?: string | null;
}

export interface Trigger extends TriggerState {
  id: string;
  flow_id: string;
  type: TriggerType;
  config: JsonObject;
  enabled: boolean;
  /** A webhook anyone may call (no token, no HMAC). */
  public?: boolean;
  /** Where a webhook trigger listens, e.g. `/hooks/orders/new`. */
  hook_url_path?: string | null;
  /** Some servers nest the state; both layouts are read. */
  state?: TriggerState;
  created_at?: string;
}

// ---- runners ----
export interface Runner {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: 'online' | 'offline';
  max_concurrent_executors: number;
  running: number;
  last_seen_at: string | null;
  version: string | null;
}

export interface RunnerToken {
  id: string;
  name: string;
  labels?: Record<string, string>;
  expires_at?: string | null;
  created_at?: string;
}

// ---- SSE events of /executions/{id}/events ----
export type ExecutionEvent =
  | { seq: number; event: 'step'; data: Step }
  | { seq: number; event: 'log'; data: LogLine }
  | { seq: number; event: 'execution'; data: Partial<Execution> }
  | { seq: number; event: 'end'; data: Partial<Execution> };
