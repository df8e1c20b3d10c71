import type { ValidationProblem } from '../api/models';

export type FieldKind =
  | { kind: 'code'; language: 'python' | 'shell' | 'text' }
  /** `lenient`: the schema sets no type, so text that is not JSON is taken as a string (a template). */
  | { kind: 'json'; lenient: boolean }
  /** An object of text values (headers, query, env): rows of name and value. */
  | { kind: 'keyvalue' }
  /** One value or a list of them (`to`, `expect_status`): one text box, commas between items; `presets` are labelled choices. */
  | { kind: 'textlist'; presets: { value: string; label: string }[] }
  | { kind: 'default' };

type Schema = Record<string, unknown>;

function types(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type.map(String);
  return typeof schema.type === 'string' ? [schema.type] : [];
}

const SCALARS = ['string', 'number', 'integer', 'boolean'];

/** A schema for one scalar (or a choice among scalars). */
function isScalar(schema: Schema): boolean {
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(branches)) return branches.every(isScalar);
  const t = types(schema);
  return t.length > 0 && t.every((x) => SCALARS.includes(x) || x === 'null');
}

/** anyOf/oneOf of scalars, or of a scalar and a list of scalars: typed as text, commas between items. */
function isTextOrList(schema: Schema): boolean {
  const branches = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (!Array.isArray(branches) || !branches.length) return false;
  return branches.every((branch) => {
    if (types(branch).length === 1 && types(branch)[0] === 'array') {
      const items = branch.items as Schema | undefined;
      return !!items && isScalar(items);
    }
    return isScalar(branch);
  });
}

/** An object whose values are text (maybe also numbers or booleans) and whose keys are free. */
function isKeyValue(schema: Schema): boolean {
  if (types(schema).join() !== 'object' || schema.properties) return false;
  const values = schema.additionalProperties;
  if (!values || typeof values !== 'object') return false;
  return types(values as Schema).includes('string');
}

function labels(schema: Schema): Record<string, string> {
  const given = schema['x-enum-labels'];
  if (!given || typeof given !== 'object' || Array.isArray(given)) return {};
  return Object.fromEntries(Object.entries(given as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
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
  if (isKeyValue(schema)) return { kind: 'keyvalue' };
  if (isTextOrList(schema)) {
    const presets = Object.entries(labels(schema)).map(([value, label]) => ({ value, label }));
    return { kind: 'textlist', presets };
  }
  // Any other choice of shapes: rjsf would show "Option 1/2/3"; JSON (or text) reads better.
  if (schema.anyOf || schema.oneOf) {
    const branches = (schema.anyOf ?? schema.oneOf) as Schema[];
    return { kind: 'json', lenient: branches.some((b) => types(b).includes('string')) };
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
    else if (kind.kind === 'keyvalue') ui[name] = { 'ui:field': 'keyvalue' };
    else if (kind.kind === 'textlist') ui[name] = { 'ui:field': 'textlist', 'ui:options': { presets: kind.presets } };
    // The field stands for the whole choice: rjsf must not add its "Option 1/2" selector.
    if ((schema.anyOf || schema.oneOf) && ui[name])
      (ui[name] as Record<string, unknown>)['ui:fieldReplacesAnyOrOneOf'] = true;
    else if (Array.isArray(schema.enum) && Object.keys(labels(schema)).length) {
      const named = labels(schema);
      ui[name] = { 'ui:enumNames': schema.enum.map((value) => named[String(value)] ?? String(value)) };
    } else if (types(schema).includes('string') && (name === 'expression' || name === 'message' || name === 'body')) {
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
