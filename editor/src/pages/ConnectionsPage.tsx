import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { useConnections, useConnectionTypes, useDeleteConnection, useTestConnection } from '../api/hooks';
import { api } from '../api/instance';
import { describeError } from '../api/errors';
import type { Connection, ConnectionTestResult, ConnectionType } from '../api/models';
import { useCan } from '../auth/session';
import { iconGlyph } from '../canvas/icons';
import { ConfirmButton, ErrorNote, Loading, Modal, PageHeader, StatusBadge, formatTime } from '../components/ui';
import { ConnectionForm } from '../connections/ConnectionForm';

type TestOutcome = { result: ConnectionTestResult } | { error: unknown };

/** Whether the user connects it in the browser (OAuth 2 authorization code). */
export function needsBrowserConnect(type: ConnectionType | undefined, connection: Connection): boolean {
  return type?.auth === 'oauth2' || connection.values.auth === 'oauth2_authorization_code';
}

function TypeCell({ type, name }: { type: ConnectionType | undefined; name: string }) {
  return (
    <span className="connection-type" data-testid="connection-row-type">
      <span className="flow-node-icon" aria-hidden>
        {iconGlyph(type?.icon, name)}
      </span>
      {type?.title ?? name}
    </span>
  );
}

function TestAnswer({ outcome, testId }: { outcome: TestOutcome | undefined; testId: string }) {
  if (!outcome) return null;
  if ('error' in outcome)
    return (
      <div className="connection-test failed" role="status" data-testid={testId} data-ok="false">
        Test not run: {describeError(outcome.error)}
      </div>
    );
  const { ok, message, duration_ms: ms } = outcome.result;
  return (
    <div className={`connection-test ${ok ? 'ok' : 'failed'}`} role="status" data-testid={testId} data-ok={String(ok)}>
      {ok ? 'ok' : 'failed'}: {message} <span className="muted">({Math.round(ms)} ms)</span>
    </div>
  );
}

/** What the API's OAuth 2 callback says on its way back here (`?oauth=connected|failed`). */
export function OAuthReturn() {
  const [params] = useSearchParams();
  const outcome = params.get('oauth');
  if (outcome !== 'connected' && outcome !== 'failed') return null;
  const name = params.get('connection') ?? 'The connection';
  const message = params.get('message');
  return outcome === 'connected' ? (
    <p role="status" className="notice" data-testid="oauth-return" data-ok="true">
      {name} is connected: its tokens are stored and refreshed by the API.
    </p>
  ) : (
    <p role="alert" className="error" data-testid="oauth-return" data-ok="false">
      {name} could not be connected{message ? `: ${message}` : ''}.
    </p>
  );
}

/**
 * Typed credentials that integration nodes name in their `connection` field. Secret fields
 * are write-only: the list shows them as "***", the edit form keeps them unless retyped.
 */
export default function ConnectionsPage() {
  const connections = useConnections();
  const types = useConnectionTypes();
  const remove = useDeleteConnection();
  const test = useTestConnection();
  const canWrite = useCan('connections.write');
  const [editing, setEditing] = useState<Connection | 'new' | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [outcomes, setOutcomes] = useState<Record<string, TestOutcome>>({});
  const typeMap = types.data ?? new Map<string, ConnectionType>();

  const runTest = (name: string) => {
    setOutcomes(({ [name]: _, ...rest }) => rest);
    test.mutate(name, {
      onSuccess: (result) => setOutcomes((all) => ({ ...all, [name]: { result } })),
      onError: (error) => setOutcomes((all) => ({ ...all, [name]: { error } })),
    });
  };

  return (
    <section>
      <PageHeader title="Connections">
        {canWrite ? (
          <button
            type="button"
            className="button primary"
            disabled={!types.data}
            onClick={() => setEditing('new')}
            data-testid="new-connection"
          >
            New connection
          </button>
        ) : null}
      </PageHeader>
      <p className="muted">
        Credentials and settings of the systems flows reach (databases, buckets, mail, queues, APIs). A node names one
        in its <code>connection</code> field. Secret fields are write-only: once set they read *** and are masked in
        every output, log and error.
      </p>
      <OAuthReturn />
      {saved ? (
        <p role="status" className="notice" data-testid="connection-saved">
          Connection {saved} saved.
        </p>
      ) : null}
      <ErrorNote error={connections.error ?? types.error ?? remove.error} />
      {connections.isPending ? <Loading /> : null}
      <table className="table" data-testid="connection-list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Status</th>
            <th>Last tested</th>
            <th>Last error</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(connections.data?.items ?? []).map((connection) => {
            const type = typeMap.get(connection.type);
            const testing = test.isPending && test.variables === connection.name;
            return (
              <tr key={connection.name} data-testid={`connection-row-${connection.name}`}>
                <td className="mono">{connection.name}</td>
                <td>
                  <TypeCell type={type} name={connection.type} />
                </td>
                <td>
                  <StatusBadge status={connection.status} testId={`connection-status-${connection.name}`} />
                </td>
                <td>{formatTime(connection.last_tested_at)}</td>
                <td>
                  {/* A test just run says more than the error it may have stored. */}
                  {outcomes[connection.name] ? (
                    <TestAnswer outcome={outcomes[connection.name]} testId={`connection-test-${connection.name}`} />
                  ) : connection.last_error ? (
                    <span className="connection-error">{connection.last_error}</span>
                  ) : (
                    '—'
                  )}
                </td>
                <td className="row-actions">
                  {canWrite && needsBrowserConnect(type, connection) ? (
                    <button
                      type="button"
                      className="button small"
                      data-testid={`oauth-connect-${connection.name}`}
                      onClick={() => window.location.assign(api().oauthStartUrl(connection.name))}
                    >
                      {connection.status === 'needs_reconnect' ? 'Reconnect' : 'Connect'}
                    </button>
                  ) : null}
                  {canWrite ? (
                    <>
                      <button
                        type="button"
                        className="button small"
                        disabled={testing}
                        onClick={() => runTest(connection.name)}
                        data-testid={`test-connection-${connection.name}`}
                      >
                        {testing ? 'Testing…' : 'Test'}
                      </button>
                      <button
                        type="button"
                        className="button small"
                        disabled={!types.data}
                        onClick={() => setEditing(connection)}
                        data-testid={`edit-connection-${connection.name}`}
                      >
                        Edit
                      </button>
                      <ConfirmButton
                        label={`Delete connection ${connection.name}`}
                        testId={`delete-connection-${connection.name}`}
                        onConfirm={() => remove.mutate(connection.name)}
                      >
                        Delete
                      </ConfirmButton>
                    </>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {connections.data && connections.data.items.length === 0 ? (
        <p className="muted" data-testid="no-connections">
          No connection yet.
        </p>
      ) : null}
      {editing && types.data ? (
        <Modal
          title={editing === 'new' ? 'New connection' : `Edit connection ${editing.name}`}
          onClose={() => setEditing(null)}
          testId="connection-dialog"
          wide
        >
          <ConnectionForm
            types={types.data}
            existing={editing === 'new' ? undefined : editing}
            onCancel={() => setEditing(null)}
            onSaved={(connection) => {
              setEditing(null);
              setSaved(connection.name);
            }}
          />
        </Modal>
      ) : null}
    </section>
  );
}
