import { describe, expect, it } from 'vitest';
import { defaultConfig, exampleInput } from './defaults';
import { nodeType } from '../test/fixtures';

describe('run input prefill', () => {
  it('builds an example from the start node input schema', () => {
    const definition = {
      version: 1 as const,
      nodes: [
        {
          id: 'start',
          type: 'start',
          config: {
            input_schema: {
              type: 'object',
              properties: {
                n: { type: 'integer' },
                tag: { type: 'string', default: 'x' },
                xs: { type: 'array', items: { type: 'number' } },
              },
            },
          },
        },
      ],
      edges: [],
    };
    expect(exampleInput(definition)).toEqual({ n: 0, tag: 'x', xs: [0] });
  });

  it('starts from an empty object without a schema', () => {
    expect(exampleInput({ version: 1, nodes: [{ id: 'start', type: 'start' }], edges: [] })).toEqual({});
  });
});

describe('new node config', () => {
  it('takes the defaults of the type schema', () => {
    const http = nodeType('http', ['success', 'error'], {
      config_schema: {
        type: 'object',
        properties: { method: { type: 'string', default: 'GET' }, url: { type: 'string' } },
      },
    });
    expect(defaultConfig(http)).toEqual({ method: 'GET' });
  });
});
