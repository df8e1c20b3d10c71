// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import NodePanel from '../panel/NodePanel';
import type { FlowDefinition } from '../flow/format';
import { nodeType } from '../test/fixtures';
import { fakeConnectionsApi, renderSignedIn } from '../test/connectionsApi';
import { connection } from '../test/connections';

const query = nodeType('postgres.query', ['success', 'error'], {
  group: 'postgres',
  icon: 'database',
  connection_types: ['postgres'],
  config_schema: {
    type: 'object',
    required: ['connection', 'sql'],
    properties: {
      connection: {
        type: 'string',
        title: 'postgres connection',
        pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$',
        'x-template': false,
      },
      sql: { type: 'string', title: 'SQL' },
    },
  },
});
const types = new Map([['postgres.query', query]]);

function flow(config: Record<string, string>): FlowDefinition {
  return {
    version: 1,
    nodes: [
      { id: 'start', type: 'start' },
      { id: 'rows', type: 'postgres.query', config },
    ],
    edges: [{ from: 'start', to: 'rows' }],
  };
}

const existing = [
  connection('warehouse', 'postgres', { host: 'db', database: 'dw', user: 'etl', password: 'x' }),
  connection('cache', 'redis', { url: 'redis://127.0.0.1' }),
];

function renderPanel(role: string, config: Record<string, string>, readOnly = false) {
  const api = fakeConnectionsApi(role, existing);
  const onChange = vi.fn();
  renderSignedIn(
    <NodePanel
      definition={flow(config)}
      nodeId="rows"
      nodeTypes={types}
      readOnly={readOnly}
      problems={[]}
      onChange={onChange}
      onClose={() => undefined}
    />,
    api,
  );
  return { api, onChange };
}

const lastConfig = (onChange: ReturnType<typeof vi.fn>) =>
  (onChange.mock.calls.at(-1)?.[0] as FlowDefinition).nodes[1].config;

afterEach(cleanup);

describe('the connection picker of a node panel', () => {
  it('offers the connections of the types the node takes, and sets the one picked', async () => {
    const { onChange } = renderPanel('editor', { sql: 'SELECT 1' });
    const picker = (await screen.findByTestId('connection-picker')) as HTMLSelectElement;
    await waitFor(() => expect(picker.options.length).toBe(2));
    expect([...picker.options].map((o) => o.value)).toEqual(['', 'warehouse']);
    fireEvent.change(picker, { target: { value: 'warehouse' } });
    expect(lastConfig(onChange)).toEqual({ sql: 'SELECT 1', connection: 'warehouse' });
  });

  it('shows a connection the node names that does not exist (or is of another type)', async () => {
    renderPanel('editor', { connection: 'cache', sql: 'SELECT 1' });
    const picker = (await screen.findByTestId('connection-picker')) as HTMLSelectElement;
    await waitFor(() => expect(picker.options.length).toBe(3));
    expect(picker.value).toBe('cache');
    expect(picker.selectedOptions[0].textContent).toContain('not found, or of another type');
  });

  it('creates a connection of the right type inline and selects it', async () => {
    const { api, onChange } = renderPanel('editor', { sql: 'SELECT 1' });
    const create = (await screen.findByTestId('connection-picker-new')) as HTMLButtonElement;
    await waitFor(() => expect(create.disabled).toBe(false));
    fireEvent.mouseDown(create);
    fireEvent.click(create);
    const dialog = await screen.findByTestId('connection-dialog');
    const typeSelect = within(dialog).getByTestId('connection-type') as HTMLSelectElement;
    expect([...typeSelect.options].map((o) => o.value)).toEqual(['postgres']);
    fireEvent.change(within(dialog).getByTestId('connection-name'), { target: { value: 'local_pg' } });
    for (const [field, value] of [
      ['host', '127.0.0.1'],
      ['database', 'postgres'],
      ['user', 'postgres'],
    ])
      fireEvent.change(dialog.querySelector(`#connection_${field}`) as HTMLInputElement, { target: { value } });
    fireEvent.click(within(dialog).getByTestId('connection-save'));
    await waitFor(() => expect(screen.queryByTestId('connection-dialog')).toBeNull());
    expect(api.stored.get('local_pg')?.type).toBe('postgres');
    expect(lastConfig(onChange)).toEqual({ sql: 'SELECT 1', connection: 'local_pg' });
  });

  it('offers no new connection to a viewer, nor in a read-only panel', async () => {
    renderPanel('viewer', { connection: 'warehouse' });
    expect(await screen.findByTestId('connection-picker')).toBeTruthy();
    expect(screen.queryByTestId('connection-picker-new')).toBeNull();
    cleanup();
    renderPanel('editor', { connection: 'warehouse' }, true);
    const picker = (await screen.findByTestId('connection-picker')) as HTMLSelectElement;
    expect(picker.disabled).toBe(true);
    expect(screen.queryByTestId('connection-picker-new')).toBeNull();
  });
});
