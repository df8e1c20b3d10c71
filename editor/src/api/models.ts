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

export type ExecutionStatus = Schemas['ExecutionStatus'];
export type StepStatus = Schemas['StepStatus'];
export type ExecutionError = Known<Schemas['ErrorInfo']>;
export type TriggerRef = Known<Schemas['ExecutionSummary']['trigger']>;

/** StepView/ExecutionSummary `input` and `output`: any JSON value in the document. */
type Outcome = { input?: JsonValue; output?: JsonValue };

export type Step = Omit<Schemas['StepView'], keyof Outcome> & Outcome;
export type LogLine = Schemas['LogView'];
export type ExecutionSummary = Omit<Schemas['ExecutionSummary'], keyof Outcome> & Outcome;
export type Execution = Omit<Schemas['ExecutionView'], 'steps' | keyof Outcome> & Outcome & { steps?: Step[] };
export type CreateExecution = Schemas['ExecutionRequest'];

/**
 * `GET /flows` items. `last_execution` is not in the document: the API lets another domain add
 * fields to the items (FlowSummaryOut allows extra fields) but none adds it today, so the
 * editor asks for each flow's newest execution when it is absent (`useLastExecution`).
 */
export type FlowSummary = Known<Schemas['FlowSummaryOut']> & { last_execution?: ExecutionSummary | null };
export type Flow = WithDefinition<Schemas['FlowOut']>;
export type RevisionSummary = Schemas['RevisionSummaryOut'];
export type Revision = WithDefinition<Schemas['RevisionOut']>;
export type FlowDiff = Schemas['DiffOut'];

export type JsonSchema = Schemas['NodeTypeOut']['config_schema'];
/** One item of `GET /node-types` (a switch adds one port per configured case to `ports`). */
export type NodeType = Known<Schemas['NodeTypeOut']>;

export type Variable = Omit<Schemas['VariableView'], 'value'> & { value: JsonValue };
export type SecretInfo = Schemas['SecretView'];

/** One item of `GET /connection-types`: `schema` is the JSON schema of its values. */
export type ConnectionType = Known<Schemas['ConnectionTypeView']>;
/** A connection: secret fields that are set read `"***"` in `values`. */
export type Connection = Schemas['ConnectionView'];
/** The answer of `POST /connections/{name}/test`. */
export type ConnectionTestResult = Schemas['ConnectionTestResult'];

export type TriggerType = Schemas['TriggerOut']['type'];
export type Trigger = Schemas['TriggerOut'];
export type TriggerState = Schemas['TriggerState'];

export type Runner = Schemas['RunnerItem'];
export type RunnerToken = Schemas['RunnerTokenItem'];
export type CreatedRunnerToken = Schemas['RunnerTokenCreated'];

export type ExecutionQuery = NonNullable<operations['list_executions']['parameters']['query']>;

/** The RFC 9457 body of every error answer. */
export type Problem = Known<Schemas['Problem']>;

/** An event of `GET /executions/{id}/events` with its `data` under the editor's names. */
type StreamEvent<Event extends { data: unknown }, Data> = Omit<Event, 'data'> & { data: Data };

/** The events of `GET /executions/{id}/events` (ExecutionStreamEvent in the document). */
export type ExecutionEvent =
  | StreamEvent<Schemas['StepEvent'], Step>
  | StreamEvent<Schemas['LogEvent'], LogLine>
  | StreamEvent<Schemas['ExecutionChangedEvent'], ExecutionSummary>
  | StreamEvent<Schemas['ExecutionEndEvent'], ExecutionSummary>;
