// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import NodePanel from './NodePanel';
import type { FlowDefinition } from '../flow/format';
import { nodeType } from '../test/fixtures';

const http = nodeType('http', ['success', 'error'], {
  config_schema: {
    type: 'object',
    required: ['url'],
    properties: {
      method: { enum: ['GET', 'POST'], default: 'GET' },
      url: { type: 'string', minLength: 1 },
      timeout_s: { type: 'number' },
    },
  },
});
const types = new Map([['http', http]]);
const definition: FlowDefinition = {
  version: 1,
  nodes: [
    { id: 'start', type: 'start' },
    { id: 'call', type: 'http', config: { url: 'http://a' } },
  ],
  edges: [{ from: 'start', to: 'call' }],
};

afterEach(cleanup);

describe('node panel', () => {
  it('does not change the flow by being opened, though the form fills in defaults', async () => {
    const onChange = vi.fn();
    render(
      <NodePanel
        definition={definition}
        nodeId="call"
        nodeTypes={types}
        readOnly={false}
        problems={[]}
        onChange={onChange}
        onClose={() => undefined}
      />,
    );
    await screen.findByTestId('node-config-form');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(onChange).not.toHaveBeenCalled();
  });

  it('writes what the user types into the node config, one undo step per field', async () => {
    const onChange = vi.fn();
    render(
      <NodePanel
        definition={definition}
        nodeId="call"
        nodeTypes={types}
        readOnly={false}
        problems={[]}
        onChange={onChange}
        onClose={() => undefined}
      />,
    );
    const url = (await screen.findByTestId('node-config-form')).querySelector('#root_url') as HTMLInputElement;
    fireEvent.input(url, { target: { value: 'https://example.org' } });
    fireEvent.change(url, { target: { value: 'https://example.org' } });
    const [next, key] = onChange.mock.calls.at(-1) as [FlowDefinition, string];
    expect(next.nodes[1].config?.url).toBe('https://example.org');
    expect(key).toBe('call:config.url');
  });

  it('shows an API problem on its field and lists it', async () => {
    render(
      <NodePanel
        definition={definition}
        nodeId="call"
        nodeTypes={types}
        readOnly={false}
        problems={[
          { loc: ['nodes', 1, 'config', 'url'], msg: 'must be an http(s) URL', node_id: 'call', field: 'url' },
        ]}
        onChange={() => undefined}
        onClose={() => undefined}
      />,
    );
    expect((await screen.findByTestId('node-panel-problems')).textContent).toContain('must be an http(s) URL');
    expect(screen.getByTestId('node-config-form').textContent).toContain('must be an http(s) URL');
  });
});
