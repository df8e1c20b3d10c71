import { describe, expect, it } from 'vitest';
import { connectionUiSchema, secretFields, setSecrets, valuesToSend } from './values';
import { connection, postgresType } from '../test/connections';

describe('write-only connection values', () => {
  it('knows secret fields from secret_fields and from "x-secret" in the schema', () => {
    const type = { ...postgresType, secret_fields: [] };
    expect([...secretFields(type)]).toEqual(['password']);
    expect([...secretFields(postgresType)]).toEqual(['password']);
  });

  it('tells the secrets the API holds (answered "***") from those never set', () => {
    const set = connection('a', 'postgres', { host: 'h', password: '***' });
    const unset = connection('b', 'postgres', { host: 'h' });
    expect([...setSecrets(postgresType, set)]).toEqual(['password']);
    expect([...setSecrets(postgresType, unset)]).toEqual([]);
  });

  it('sends "***" for a set secret left alone, a typed one as typed, and leaves out empty fields', () => {
    const held = new Set(['password']);
    expect(valuesToSend({ host: 'h', password: '***', user: '' }, held)).toEqual({ host: 'h', password: '***' });
    expect(valuesToSend({ host: 'h' }, held)).toEqual({ host: 'h', password: '***' });
    expect(valuesToSend({ host: 'h', password: 'new' }, held)).toEqual({ host: 'h', password: 'new' });
    expect(valuesToSend({ host: 'h' }, new Set())).toEqual({ host: 'h' });
  });

  it('edits secret fields with the write-only widget, keys in a text area', () => {
    const type = {
      ...postgresType,
      schema: { type: 'object', properties: { private_key: { type: 'string', 'x-secret': true }, url: {} } },
    };
    const ui = connectionUiSchema(type, new Set(['private_key']));
    expect(ui.private_key).toMatchObject({
      'ui:widget': 'secret',
      'ui:options': { wasSet: true, multiline: true },
    });
    expect(ui.url).toBeUndefined();
  });
});
