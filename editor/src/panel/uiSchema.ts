import type { ValidationProblem } from '../api/models';

export type FieldKind =
  | { kind: 'code'; language: 'python' | 'shell' | 'text' }
  /** `lenient`: the schema sets no type, so text that is not JSON is taken as a string (a template). */
  | { kind: 'json'; lenient: boolean }
  | { kind: 'default' };

type Schema = Record<string, unknown>;

function types(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type.map(String);
  return typeof schema.type === 'string' ? [schema.type] : [];
}

/** Free-form JSON: no type, several types, or an object/array whose shape is not spelled out. */
function isFreeJson(schema: Schema): boolean {
  const t = types(schema);
  if (schema.enum || schema.const !== undefined) return false;
  if (t.length === 0) return !schema.properties && !schema.oneOf && !schema.anyOf;
  if (t.length > 1) return t.some((x) => x === 'object' || x === 'array');
  if (t[0] === 'object') return !schema.properties;
  if (t[0] === 'array') {
    const items = schema.items as Schema | undefined;
    return !items || !['string', 'number', 'integer', 'boolean'].some((x) => types(items).includes(x));
  }
  return false;
}

/**
 * How the side panel edits one config field: code (`x-template: false` strings) in
 * CodeMirror, free-form values as JSON, the rest with rjsf's own widgets.
 */
export function fieldKind(name: string, schema: Schema): FieldKind {
  if (schema['x-template'] === false && types(schema).includes('string')) {
    const declared = schema['x-language'];
    const language =
      declared === 'python' || declared === 'shell'
        ? declared
        : name === 'code'
          ? 'python'
          : name === 'command'
            ? 'shell'
            : 'text';
    return { kind: 'code', language };
  }
  if (isFreeJson(schema)) return { kind: 'json', lenient: types(schema).length === 0 };
  return { kind: 'default' };
}

/**
 * rjsf's uiSchema for a node type's config schema. A node that works through a connection
 * (`connectionTypes` not empty) picks its `connection` among those of these types.
 */
export function buildUiSchema(configSchema: Schema, connectionTypes: readonly string[] = []): Record<string, unknown> {
  const ui: Record<string, unknown> = { 'ui:submitButtonOptions': { norender: true } };
  const properties = (configSchema.properties ?? {}) as Record<string, Schema>;
  for (const [name, schema] of Object.entries(properties)) {
    if (!schema || typeof schema !== 'object') continue;
    const kind = fieldKind(name, schema);
    if (kind.kind === 'code') ui[name] = { 'ui:widget': 'code', 'ui:options': { language: kind.language } };
    else if (kind.kind === 'json') ui[name] = { 'ui:field': 'json', 'ui:options': { lenient: kind.lenient } };
    else if (types(schema).includes('string') && (name === 'expression' || name === 'message' || name === 'body')) {
      ui[name] = { 'ui:widget': 'textarea', 'ui:options': { rows: 2 } };
    }
  }
  // The name is a literal (`x-template: false`), yet not code: a picker, not an editor.
  if (connectionTypes.length && properties.connection)
    ui.connection = { 'ui:widget': 'connection', 'ui:options': { connectionTypes: [...connectionTypes] } };
  return ui;
}

/** Problems of one node as rjsf `extraErrors`, keyed by the problem's `field` path. */
export function problemsToErrorSchema(problems: readonly ValidationProblem[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const problem of problems) {
    const path = problem.field ? problem.field.split('.').filter(Boolean) : [];
    if (path[0] === 'config') path.shift();
    let cursor = out;
    for (const part of path) {
      cursor[part] ??= {};
      cursor = cursor[part] as Record<string, unknown>;
    }
    const errors = (cursor.__errors as string[] | undefined) ?? [];
    errors.push(problem.msg);
    cursor.__errors = errors;
  }
  return out;
}

/** Groups validation problems by node, as messages to show on the canvas. */
export function problemsByNode(problems: readonly ValidationProblem[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const problem of problems) {
    if (!problem.node_id) continue;
    const list = out.get(problem.node_id) ?? [];
    list.push(problem.field ? `${problem.field}: ${problem.msg}` : problem.msg);
    out.set(problem.node_id, list);
  }
  return out;
}
