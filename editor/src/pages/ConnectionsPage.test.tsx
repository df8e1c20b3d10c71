// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import ConnectionsPage from './ConnectionsPage';
import { fakeConnectionsApi, renderSignedIn } from '../test/connectionsApi';
import { connection } from '../test/connections';

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const warehouse = connection(
  'warehouse',
  'postgres',
  { host: 'db.internal', port: 5432, database: 'dw', user: 'etl', password: 'hunter2' },
  { last_tested_at: '2026-12-07T11:00:00Z' },
);
const crm = connection(
  'crm',
  'openapi.crm',
  { client_id: 'id', client_secret: 's3cret' },
  { status: 'needs_reconnect', last_error: 'the refresh token was revoked' },
);

const input = (root: HTMLElement, id: string) => root.querySelector(`#${id}`) as HTMLInputElement;
/** Clicks a button once it is enabled (it waits for the connection types). */
async function press(testId: string) {
  const button = (await screen.findByTestId(testId)) as HTMLButtonElement;
  await waitFor(() => expect(button.disabled).toBe(false));
  fireEvent.click(button);
}

const type = (element: HTMLElement, value: string) => fireEvent.change(element, { target: { value } });

describe('the connections page', () => {
  it('lists connections with their type, status, last test and last error, never a secret', async () => {
    const api = fakeConnectionsApi('editor', [warehouse, crm]);
    renderSignedIn(<ConnectionsPage />, api);
    const row = await screen.findByTestId('connection-row-warehouse');
    expect(within(row).getByTestId('connection-row-type').textContent).toContain('PostgreSQL');
    expect(within(row).getByTestId('connection-row-type').textContent).toContain('⛁');
    expect(screen.getByTestId('connection-status-warehouse').getAttribute('data-status')).toBe('ok');
    const crmRow = screen.getByTestId('connection-row-crm');
    expect(screen.getByTestId('connection-status-crm').textContent).toBe('needs reconnect');
    expect(crmRow.textContent).toContain('the refresh token was revoked');
    // OAuth 2 types connect in the browser; a failed refresh asks to reconnect.
    expect(within(crmRow).getByTestId('oauth-connect-crm').textContent).toBe('Reconnect');
    expect(within(row).queryByTestId('oauth-connect-warehouse')).toBeNull();
    expect(document.body.textContent).not.toContain('hunter2');
  });

  it('offers a viewer no way to change them', async () => {
    renderSignedIn(<ConnectionsPage />, fakeConnectionsApi('viewer', [warehouse, crm]));
    await screen.findByTestId('connection-row-warehouse');
    expect(screen.queryByTestId('new-connection')).toBeNull();
    expect(screen.queryByTestId('edit-connection-warehouse')).toBeNull();
    expect(screen.queryByTestId('delete-connection-warehouse')).toBeNull();
    expect(screen.queryByTestId('oauth-connect-crm')).toBeNull();
    // Testing runs a probe on a runner: the API lets editors and up do it.
    expect(screen.queryByTestId('test-connection-warehouse')).toBeNull();
  });

  it("creates one from its type's schema, the password typed in a password input", async () => {
    const api = fakeConnectionsApi('editor');
    renderSignedIn(<ConnectionsPage />, api);
    await press('new-connection');
    const dialog = await screen.findByTestId('connection-dialog');
    type(within(dialog).getByTestId('connection-name'), 'local_pg');
    type(within(dialog).getByTestId('connection-type'), 'postgres');
    type(input(dialog, 'connection_host'), '127.0.0.1');
    type(input(dialog, 'connection_database'), 'postgres');
    type(input(dialog, 'connection_user'), 'postgres');
    const password = within(dialog).getByTestId('secret-field-password') as HTMLInputElement;
    expect(password.type).toBe('password');
    type(password, 'pw-1');
    fireEvent.click(within(dialog).getByTestId('connection-save'));
    await screen.findByTestId('connection-row-local_pg');
    const put = api.requests.find((r) => r.method === 'PUT');
    expect(put?.path).toBe('/api/v1/connections/local_pg');
    expect(put?.body).toEqual({
      type: 'postgres',
      values: { host: '127.0.0.1', port: 5432, database: 'postgres', user: 'postgres', password: 'pw-1' },
    });
    expect(screen.queryByTestId('connection-dialog')).toBeNull();
    expect(screen.getByTestId('connection-saved').textContent).toContain('local_pg');
  });

  it('refuses a name a node could not use before asking the API', async () => {
    const api = fakeConnectionsApi('editor');
    renderSignedIn(<ConnectionsPage />, api);
    await press('new-connection');
    const dialog = await screen.findByTestId('connection-dialog');
    type(within(dialog).getByTestId('connection-name'), '1 bad name');
    expect((within(dialog).getByTestId('connection-save') as HTMLButtonElement).disabled).toBe(true);
    expect(dialog.textContent).toContain('starting with a letter or _');
  });

  it('edits one keeping its password: the form shows it as set and sends "***"', async () => {
    const api = fakeConnectionsApi('editor', [warehouse]);
    renderSignedIn(<ConnectionsPage />, api);
    await press('edit-connection-warehouse');
    const dialog = await screen.findByTestId('connection-dialog');
    expect((within(dialog).getByTestId('connection-name') as HTMLInputElement).readOnly).toBe(true);
    const password = within(dialog).getByTestId('secret-field-password') as HTMLInputElement;
    expect(password.value).toBe('');
    expect(password.getAttribute('data-set')).toBe('true');
    expect(dialog.textContent).toContain('set (write-only)');
    type(input(dialog, 'connection_host'), 'db2.internal');
    fireEvent.click(within(dialog).getByTestId('connection-save'));
    await waitFor(() => expect(screen.queryByTestId('connection-dialog')).toBeNull());
    const put = api.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toEqual({
      type: 'postgres',
      values: { host: 'db2.internal', port: 5432, database: 'dw', user: 'etl', password: '***' },
    });
    // The API kept the stored password.
    expect(api.stored.get('warehouse')?.values.password).toBe('hunter2');
  });

  it('edits one replacing its password when a new one is typed', async () => {
    const api = fakeConnectionsApi('editor', [warehouse]);
    renderSignedIn(<ConnectionsPage />, api);
    await press('edit-connection-warehouse');
    const dialog = await screen.findByTestId('connection-dialog');
    type(within(dialog).getByTestId('secret-field-password'), 'new-pw');
    fireEvent.click(within(dialog).getByTestId('connection-save'));
    await waitFor(() => expect(api.stored.get('warehouse')?.values.password).toBe('new-pw'));
  });

  it('edits one dropping its password when it is cleared', async () => {
    const api = fakeConnectionsApi('editor', [warehouse]);
    renderSignedIn(<ConnectionsPage />, api);
    await press('edit-connection-warehouse');
    const dialog = await screen.findByTestId('connection-dialog');
    fireEvent.click(within(dialog).getByTestId('secret-clear-password'));
    const password = within(dialog).getByTestId('secret-field-password');
    await waitFor(() => expect(password.getAttribute('data-set')).toBe('false'));
    fireEvent.click(within(dialog).getByTestId('connection-save'));
    await waitFor(() => expect(screen.queryByTestId('connection-dialog')).toBeNull());
    const put = api.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toEqual({
      type: 'postgres',
      values: { host: 'db.internal', port: 5432, database: 'dw', user: 'etl' },
    });
  });

  it('deletes one only once confirmed', async () => {
    const api = fakeConnectionsApi('editor', [warehouse]);
    renderSignedIn(<ConnectionsPage />, api);
    const confirm = vi.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
    fireEvent.click(await screen.findByTestId('delete-connection-warehouse'));
    expect(api.requests.some((r) => r.method === 'DELETE')).toBe(false);
    fireEvent.click(screen.getByTestId('delete-connection-warehouse'));
    expect(confirm).toHaveBeenCalledWith('Delete connection warehouse?');
    await waitFor(() => expect(screen.queryByTestId('connection-row-warehouse')).toBeNull());
    expect(api.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([
      '/api/v1/connections/warehouse',
    ]);
  });

  it("tests one and shows the runner's answer", async () => {
    const api = fakeConnectionsApi('editor', [warehouse]);
    renderSignedIn(<ConnectionsPage />, api);
    fireEvent.click(await screen.findByTestId('test-connection-warehouse'));
    const answer = await screen.findByTestId('connection-test-warehouse');
    expect(answer.getAttribute('data-ok')).toBe('true');
    expect(answer.textContent).toBe('ok: connected to PostgreSQL 16.4 (12 ms)');
    expect(api.requests.some((r) => r.method === 'POST' && r.path === '/api/v1/connections/warehouse/test')).toBe(true);
  });

  it("shows a failed test's message in place of the last error", async () => {
    const failed = { ok: false, message: 'password authentication failed for user "etl"', duration_ms: 40 };
    renderSignedIn(<ConnectionsPage />, fakeConnectionsApi('editor', [crm], { test: failed }));
    fireEvent.click(await screen.findByTestId('test-connection-crm'));
    const answer = await screen.findByTestId('connection-test-crm');
    expect(answer.getAttribute('data-ok')).toBe('false');
    expect(answer.textContent).toBe('failed: password authentication failed for user "etl" (40 ms)');
    expect(screen.getByTestId('connection-row-crm').textContent).not.toContain('the refresh token was revoked');
  });

  it('says so when the test could not run', async () => {
    renderSignedIn(<ConnectionsPage />, fakeConnectionsApi('editor', [warehouse], { test: 404 }));
    fireEvent.click(await screen.findByTestId('test-connection-warehouse'));
    const answer = await screen.findByTestId('connection-test-warehouse');
    expect(answer.getAttribute('data-ok')).toBe('false');
    expect(answer.textContent).toContain('Test not run: Not Found: No such connection');
  });

  it('says how an OAuth connect ended when the API sends the browser back', async () => {
    const api = fakeConnectionsApi('editor', [warehouse, crm]);
    renderSignedIn(<ConnectionsPage />, api, '/connections?oauth=connected&connection=crm');
    const connected = await screen.findByTestId('oauth-return');
    expect(connected.dataset.ok).toBe('true');
    expect(connected.textContent).toContain('crm is connected');
    cleanup();
    renderSignedIn(
      <ConnectionsPage />,
      fakeConnectionsApi('editor', [crm]),
      '/connections?oauth=failed&connection=crm&message=access_denied',
    );
    const failed = await screen.findByTestId('oauth-return');
    expect(failed.dataset.ok).toBe('false');
    expect(failed.textContent).toContain('crm could not be connected: access_denied');
  });
});
