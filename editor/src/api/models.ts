/**
 * The API's shapes under the names the editor uses, taken from the generated schema
 * (schema.gen.ts). Where the OpenAPI document leaves a field open (a JSON value, an object
 * of any keys), the narrowest type the editor relies on is given here, next to the schema
 * type it refines; each says which field of the document it stands for.
 */
import type { FlowDefinition, JsonValue } from '../flow/format';
import type { components, operations } from './schema.gen';

type Schemas = components['schemas'];

/** A request body, by its model's name in the document. */
export type Body<Name extends keyof Schemas> = Schemas[Name];

/** The type without its index signature: models that allow extra fields keep their known ones. */
type Known<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };

/** The stored definition (the document: an object). */
type WithDefinition<T> = Omit<Known<T>, 'definition'> & { definition: FlowDefinition };

export type Role = Schemas['Role'];
export type Me = Schemas['MeView'];
export type User = Schemas['UserView'];
export type LoginResponse = Schemas['AuthResult'];
export type ApiToken = Schemas['TokenView'];
export type CreatedToken = Schemas['CreatedToken'];
export type Organization = Schemas['OrganizationView'];
export type ValidationProblem = Schemas['ProblemItem'];

export type ExecutionStatus = Schemas['ExecutionView']['status'];
/** StepView.status (a string in the document). */
export type StepStatus = 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** StepView.error and ExecutionView.error (any value in the document). */
export type ExecutionError = {
  node_id?: string | null;
  type: string;
  message: string;
  attempt?: number;
};

/** ExecutionView.trigger (an object of any keys in the document): what started the run. */
export type TriggerRef = { type: string; id?: string };

type Outcome = {
  input?: JsonValue;
  output?: JsonValue;
  error?: ExecutionError | null;
};

export type Step = Omit<Schemas['StepView'], 'status' | 'iteration' | keyof Outcome> &
  Outcome & {
    status: StepStatus;
    /** StepView.iteration: the foreach item index; a list of indexes inside nested loops. */
    iteration?: number | number[] | null;
  };
export type LogLine = Schemas['LogView'];
export type ExecutionSummary = Omit<Schemas['ExecutionSummary'], 'trigger' | keyof Outcome> &
  Outcome & { trigger: TriggerRef };
export type Execution = Omit<Schemas['ExecutionView'], 'trigger' | 'steps' | keyof Outcome> &
  Outcome & { trigger: TriggerRef; steps?: Step[] };
export type CreateExecution = Schemas['ExecutionRequest'];

/**
 * `GET /flows` items; `last_execution` is added by the executions domain to each item
 * (FlowSummaryOut allows extra fields) and is not in the document.
 */
export type FlowSummary = Known<Schemas['FlowSummaryOut']> & { last_execution?: ExecutionSummary | null };
export type Flow = WithDefinition<Schemas['FlowOut']>;
export type RevisionSummary = Schemas['RevisionSummaryOut'];
export type Revision = WithDefinition<Schemas['RevisionOut']>;
export type FlowDiff = Schemas['DiffOut'];

export type JsonSchema = { [key: string]: unknown };

/** One item of NodeTypesOut.items (objects of any keys in the document). */
export type NodeType = {
  type: string;
  title: string;
  description: string;
  icon: string;
  group: string;
  /** Port names (strings) or port objects; switch adds one port per configured case. */
  ports: (string | { name: string; label?: string })[];
  config_schema: JsonSchema;
  output_schema: JsonSchema | null;
};

export type Variable = Omit<Schemas['VariableView'], 'value'> & { value: JsonValue };
export type SecretInfo = Schemas['SecretView'];

/** TriggerCreate.type and TriggerOut.type (a string in the document). */
export type TriggerType = 'schedule' | 'webhook' | 's3' | 'git';
export type Trigger = Omit<Schemas['TriggerOut'], 'type'> & { type: TriggerType };
export type TriggerState = Schemas['TriggerState'];

export type Runner = Schemas['RunnerItem'];
export type RunnerToken = Schemas['RunnerTokenItem'];
/** The 201 answer of `POST /runner-tokens` (not described by the document). */
export type CreatedRunnerToken = { id: string; token: string };

export type ExecutionQuery = NonNullable<operations['list_executions']['parameters']['query']>;

/**
 * The events of `GET /executions/{id}/events` (`text/event-stream`, whose payloads the
 * document does not describe): `step` carries a StepView, `log` a LogView, `execution` and
 * `end` the execution's fields.
 */
export type ExecutionEvent =
  | { seq: number; event: 'step'; data: Step }
  | { seq: number; event: 'log'; data: LogLine }
  | { seq: number; event: 'execution'; data: Partial<Execution> }
  | { seq: number; event: 'end'; data: Partial<Execution> };
