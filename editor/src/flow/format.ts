/**
 * The flow definition document (format version 1), as docs/flow-format.md describes it and
 * the engine's models (src/flomation/engine/definition.py) check it. The API's OpenAPI
 * document describes a stored definition as an object only, so its shape is spelled out here.
 * Fields the editor does not know survive a load and save at run time (nodes, edges and the
 * definition are copied by spreading), without the types admitting unknown keys.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type Position = {
  x: number;
  y: number;
};

export type RetryPolicy = {
  max_attempts?: number;
  delay_s?: number;
  backoff?: 'fixed' | 'exponential';
  max_delay_s?: number;
  jitter?: boolean;
};

export type FlowNode = {
  id: string;
  type: string;
  name?: string;
  config?: JsonObject;
  retry?: RetryPolicy;
  timeout_s?: number;
  max_visits?: number;
  position?: Position;
};

export type FlowEdge = {
  from: string;
  to: string;
  /** Absent means `success`. */
  port?: string;
};

export type FlowDefinition = {
  version: 1;
  runs_on?: Record<string, string>;
  timeout_s?: number;
  nodes: FlowNode[];
  edges: FlowEdge[];
};
