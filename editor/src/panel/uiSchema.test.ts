import { describe, expect, it } from 'vitest';
import { buildUiSchema, fieldKind, problemsByNode, problemsToErrorSchema } from './uiSchema';

describe('config form generation', () => {
  it('edits non-template code with CodeMirror in the right language', () => {
    expect(fieldKind('code', { type: 'string', 'x-template': false })).toEqual({ kind: 'code', language: 'python' });
    expect(fieldKind('command', { type: 'string', 'x-template': false })).toEqual({ kind: 'code', language: 'shell' });
  });

  it('edits schemas and free-form JSON values as JSON', () => {
    expect(fieldKind('input_schema', { type: 'object', 'x-template': false })).toEqual({
      kind: 'json',
      lenient: false,
    });
    expect(fieldKind('values', { type: 'object', additionalProperties: true })).toEqual({
      kind: 'json',
      lenient: false,
    });
    expect(fieldKind('value', { description: 'A template' })).toEqual({ kind: 'json', lenient: true });
    expect(fieldKind('url', { type: 'string' })).toEqual({ kind: 'default' });
    expect(fieldKind('method', { enum: ['GET', 'POST'] })).toEqual({ kind: 'default' });
    expect(fieldKind('cases', { type: 'array', items: { type: 'string' }, 'x-template': false })).toEqual({
      kind: 'default',
    });
  });

  it('hides the submit button and maps each field', () => {
    const ui = buildUiSchema({
      type: 'object',
      properties: { code: { type: 'string', 'x-template': false }, json: {} },
    });
    expect(ui['ui:submitButtonOptions']).toEqual({ norender: true });
    expect(ui.code).toEqual({ 'ui:widget': 'code', 'ui:options': { language: 'python' } });
    expect(ui.json).toEqual({ 'ui:field': 'json', 'ui:options': { lenient: true } });
  });

  it("picks an integration node's connection among those of its connection types, not as code", () => {
    const schema = { type: 'object', properties: { connection: { type: 'string', 'x-template': false } } };
    expect(buildUiSchema(schema, ['postgres']).connection).toEqual({
      'ui:widget': 'connection',
      'ui:options': { connectionTypes: ['postgres'] },
    });
    // A node without connection types keeps the field as the schema says.
    expect(buildUiSchema(schema).connection).toEqual({ 'ui:widget': 'code', 'ui:options': { language: 'text' } });
  });
});

describe('validation problems from the API', () => {
  it('shows field problems on the field and counts them per node', () => {
    const problems = [
      { loc: ['nodes', 1, 'config', 'url'], msg: 'not a URL', node_id: 'call', field: 'url' },
      { loc: ['nodes', 1, 'config', 'headers', 'x'], msg: 'bad', node_id: 'call', field: 'config.headers.x' },
      { loc: ['edges', 0], msg: 'no such port', node_id: 'big' },
    ];
    expect(problemsToErrorSchema(problems.slice(0, 2))).toEqual({
      url: { __errors: ['not a URL'] },
      headers: { x: { __errors: ['bad'] } },
    });
    expect(problemsByNode(problems).get('call')).toHaveLength(2);
    expect(problemsByNode(problems).get('big')).toEqual(['no such port']);
  });
});

describe('lenient JSON fields', () => {
  it('takes text that is not JSON as a string and shows strings that look like JSON quoted', async () => {
    const { parseLenient, showLenient } = await import('./jsonText');
    expect(parseLenient('{{ input.k }}')).toEqual({ ok: true, value: '{{ input.k }}' });
    expect(parseLenient('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(showLenient('{{ input.k }}')).toBe('{{ input.k }}');
    expect(showLenient('true')).toBe('"true"');
    expect(parseLenient(showLenient('true'))).toEqual({ ok: true, value: 'true' });
    expect(showLenient({ a: 1 })).toBe('{\n  "a": 1\n}');
  });

  it('refuses text that is not JSON where JSON is required', async () => {
    const { parseStrict } = await import('./jsonText');
    expect(parseStrict('{"a": ').ok).toBe(false);
    expect(parseStrict('[1]')).toEqual({ ok: true, value: [1] });
  });
});
