import { describe, expect, it } from 'vitest';
import { defaultText, docsHref, humanise, presentSchema, setDocsBase } from './present';
import { buildUiSchema, fieldKind } from './uiSchema';

describe('field titles and defaults', () => {
  it('turns snake_case names into titles people read', () => {
    expect(humanise('timeout_s')).toBe('Timeout (s)');
    expect(humanise('max_keys')).toBe('Max keys');
    expect(humanise('json_schema')).toBe('JSON schema');
    expect(humanise('thread_ts')).toBe('Thread timestamp');
    expect(humanise('memory_mb')).toBe('Memory (MB)');
    expect(humanise('url')).toBe('URL');
  });

  it('keeps titles the schema gives, adds the missing ones and states defaults', () => {
    const shown = presentSchema({
      type: 'object',
      properties: {
        routing_key: { type: 'string' },
        qos: { enum: [0, 1, 2], default: 1, title: 'QoS' },
        persistent: { type: 'boolean', default: true, description: 'Survives a broker restart.' },
      },
    }).properties as Record<string, Record<string, unknown>>;
    expect(shown.routing_key.title).toBe('Routing key');
    expect(shown.qos.title).toBe('QoS');
    expect(shown.qos.description).toBe('Default: 1.');
    expect(shown.persistent.description).toBe('Survives a broker restart. Default: on.');
    expect(defaultText('a\nb')).toBe('(see the field)');
    const empty = presentSchema({ properties: { subject: { type: 'string', default: '' } } });
    expect((empty.properties as Record<string, Record<string, unknown>>).subject.description).toBeUndefined();
  });

  it('links repository docs under the docs base, and absolute URLs as they are', () => {
    setDocsBase('https://docs.example.test/repo');
    expect(docsHref('docs/integrations/http.md')).toBe('https://docs.example.test/repo/docs/integrations/http.md');
    expect(docsHref('https://x.test/a')).toBe('https://x.test/a');
    expect(docsHref(null)).toBeNull();
  });
});

describe('field editors', () => {
  it('gives objects of text a key/value editor, other objects JSON', () => {
    expect(fieldKind('headers', { type: 'object', additionalProperties: { type: 'string' } })).toEqual({
      kind: 'keyvalue',
    });
    expect(
      fieldKind('env', { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } }),
    ).toEqual({ kind: 'keyvalue' });
    expect(fieldKind('values', { type: 'object' })).toEqual({ kind: 'json', lenient: false });
  });

  it('types a value-or-list as one line, with labelled presets when the schema has them', () => {
    const to = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
    expect(fieldKind('to', to)).toEqual({ kind: 'textlist', presets: [] });
    const status = {
      anyOf: [{ type: 'integer' }, { type: 'string' }, { type: 'array', items: { anyOf: [{ type: 'integer' }] } }],
      'x-enum-labels': { '200-299': '2xx (success)', '100-599': 'Any status' },
    };
    expect(fieldKind('expect_status', status)).toEqual({
      kind: 'textlist',
      presets: [
        { value: '200-299', label: '2xx (success)' },
        { value: '100-599', label: 'Any status' },
      ],
    });
    // Another choice of shapes is JSON, never rjsf's "Option 1/2" dropdown.
    expect(fieldKind('x', { oneOf: [{ type: 'object' }, { type: 'string' }] })).toEqual({
      kind: 'json',
      lenient: true,
    });
  });

  it('labels enum values the schema names', () => {
    const ui = buildUiSchema({
      type: 'object',
      properties: { mode: { enum: ['auto', 'core'], 'x-enum-labels': { auto: 'Automatic' } } },
    });
    expect(ui.mode).toEqual({ 'ui:enumNames': ['Automatic', 'core'] });
  });
});
