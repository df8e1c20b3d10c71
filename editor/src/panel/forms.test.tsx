// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, within } from '@testing-library/react';
import NodePanel from './NodePanel';
import type { FlowDefinition } from '../flow/format';
import { realTypes } from '../test/realNodeTypes';
import { fakeConnectionsApi, renderSignedIn } from '../test/connectionsApi';

const types = new Map(Object.values(realTypes).map((t) => [t.type, t]));

function open(node: FlowDefinition['nodes'][number]) {
  const onChange = vi.fn();
  const definition: FlowDefinition = { version: 1, nodes: [{ id: 'start', type: 'start' }, node], edges: [] };
  renderSignedIn(
    <NodePanel
      definition={definition}
      nodeId={node.id}
      nodeTypes={types}
      readOnly={false}
      problems={[]}
      onChange={onChange}
      onClose={() => undefined}
    />,
    fakeConnectionsApi('editor'),
  );
  const lastConfig = () => {
    const [next] = onChange.mock.calls.at(-1) as [FlowDefinition];
    return next.nodes[1].config ?? {};
  };
  return { onChange, lastConfig };
}

function type(element: HTMLElement, value: string) {
  fireEvent.input(element, { target: { value } });
  fireEvent.change(element, { target: { value } });
}

afterEach(cleanup);

describe('forms people can read', () => {
  it('titles every http field, states defaults and links the docs', async () => {
    open({ id: 'call', type: 'http', config: { url: 'https://a' } });
    const form = await screen.findByTestId('node-config-form');
    for (const title of ['Method', 'URL', 'Headers', 'Query parameters', 'Timeout (s)', 'Expected status'])
      expect(form.textContent).toContain(title);
    expect(form.textContent).not.toMatch(/timeout_s|expect_status|follow_redirects/);
    expect(form.textContent).toContain('Default: GET.');
    expect(form.textContent).not.toContain('Option 1');
    expect(screen.getByTestId('node-docs-link').getAttribute('href')).toMatch(/docs\/integrations\/http\.md$/);
  });

  it('edits headers as name/value rows, not JSON', async () => {
    const { lastConfig } = open({ id: 'call', type: 'http', config: { url: 'https://a' } });
    const headers = await screen.findByTestId('field-headers');
    type(within(headers).getByLabelText('Headers: name 1'), 'Accept');
    type(within(headers).getByLabelText('Headers: value 1'), 'application/json');
    expect(lastConfig().headers).toEqual({ Accept: 'application/json' });
    // A second row appears to add another; removing the first empties the field.
    expect(within(headers).getByLabelText('Headers: name 2')).toBeTruthy();
    fireEvent.click(within(headers).getByLabelText('Remove Accept'));
    expect(lastConfig().headers).toBeUndefined();
  });

  it('keeps a query holding a list as JSON rather than lose it', async () => {
    open({ id: 'call', type: 'http', config: { url: 'https://a', query: { tag: ['a', 'b'] } } });
    expect(await screen.findByLabelText('Query parameters (JSON)')).toBeTruthy();
  });

  it('offers labelled expected statuses, and other values typed in', async () => {
    const { lastConfig } = open({ id: 'call', type: 'http', config: { url: 'https://a' } });
    const choice = (await screen.findByTestId('field-expect_status-choice')) as HTMLSelectElement;
    const labels = [...choice.options].map((o) => o.textContent);
    expect(labels).toEqual(expect.arrayContaining(['2xx (success)', 'Any status', 'Other…']));
    fireEvent.mouseDown(choice);
    fireEvent.change(choice, { target: { value: '100-599' } });
    expect(lastConfig().expect_status).toBe('100-599');
    fireEvent.change(choice, { target: { value: '__custom__' } });
    type(screen.getByTestId('field-expect_status'), '200, 404');
    expect(lastConfig().expect_status).toEqual(['200', '404']);
  });

  it("takes email recipients as one comma-separated line (a list), never an 'Option 1' choice", async () => {
    const { lastConfig } = open({ id: 'mail', type: 'email.send', config: { connection: 'smtp', to: 'a@x.test' } });
    const form = await screen.findByTestId('node-config-form');
    expect(form.textContent).not.toContain('Option 1');
    const to = screen.getByTestId('field-to') as HTMLInputElement;
    expect(to.value).toBe('a@x.test');
    type(to, 'a@x.test, b@x.test');
    expect(lastConfig().to).toEqual(['a@x.test', 'b@x.test']);
    type(screen.getByTestId('field-cc'), '{{ input.boss }}');
    expect(lastConfig().cc).toBe('{{ input.boss }}');
  });

  it('edits shell env as rows and flags a name the shell cannot take', async () => {
    const { lastConfig } = open({ id: 'sh', type: 'shell', config: { command: 'echo' } });
    const env = await screen.findByTestId('field-env');
    type(within(env).getByLabelText('Environment: name 1'), '1BAD');
    expect(env.textContent).toContain('“1BAD” is not a valid name.');
    type(within(env).getByLabelText('Environment: name 1'), 'NAME');
    type(within(env).getByLabelText('Environment: value 1'), '{{ input.name }}');
    expect(lastConfig().env).toEqual({ NAME: '{{ input.name }}' });
  });
});
