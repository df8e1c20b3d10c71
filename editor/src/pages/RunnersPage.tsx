import { useState, type FormEvent } from 'react';
import { useCreateRunnerToken, useDeleteRunner, useDeleteRunnerToken, useRunnerTokens, useRunners } from '../api/hooks';
import { apiPublicOrigin } from '../api/instance';
import { useCan } from '../auth/session';
import { parseLabels } from '../flow/labels';
import { ConfirmButton, CopyButton, ErrorNote, Loading, PageHeader, formatTime } from '../components/ui';

// The token travels in the environment, not as an argument: a command line is readable by every
// process on the host (/proc/<pid>/cmdline), the environment only by the runner's own user.
export function runnerCommand(origin: string, token: string): string {
  return `FLOMATION_RUNNER_TOKEN=${token} flomation runner --api ${origin}`;
}

function Labels({ labels }: { labels: Record<string, string> | undefined }) {
  const entries = Object.entries(labels ?? {});
  if (!entries.length) return <span className="muted">none</span>;
  return (
    <>
      {entries.map(([k, v]) => (
        <span key={k} className="badge">
          {k}={v}
        </span>
      ))}
    </>
  );
}

export default function RunnersPage() {
  const canManage = useCan('runners.manage');
  const runners = useRunners();
  const tokens = useRunnerTokens(canManage);
  const createToken = useCreateRunnerToken();
  const deleteToken = useDeleteRunnerToken();
  const deleteRunner = useDeleteRunner();
  const [name, setName] = useState('');
  const [labels, setLabels] = useState('');
  const [created, setCreated] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseLabels(labels);
    createToken.mutate(
      { name, ...(Object.keys(parsed).length ? { labels: parsed } : {}) },
      {
        onSuccess: (answer) => {
          setCreated(answer.token);
          setName('');
          setLabels('');
        },
      },
    );
  };
  const command = created ? runnerCommand(apiPublicOrigin(), created) : '';

  return (
    <section>
      <PageHeader title="Runners" />
      <ErrorNote error={runners.error ?? deleteRunner.error} />
      {runners.isPending ? <Loading /> : null}
      <table className="table" data-testid="runner-list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Labels</th>
            <th>Running</th>
            <th>Last seen</th>
            <th>Version</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(runners.data?.items ?? []).map((runner) => (
            <tr key={runner.id} data-testid={`runner-row-${runner.id}`} data-status={runner.status}>
              <td>{runner.name}</td>
              <td>
                <span className={`badge badge-${runner.status === 'online' ? 'succeeded' : 'cancelled'}`}>
                  {runner.status}
                </span>
              </td>
              <td>
                <Labels labels={runner.labels} />
              </td>
              <td>
                {runner.running} / {runner.max_concurrent_executors}
              </td>
              <td>{formatTime(runner.last_seen_at)}</td>
              <td>{runner.version ?? '—'}</td>
              <td>
                {canManage ? (
                  <ConfirmButton
                    label={`Remove runner ${runner.name}`}
                    onConfirm={() => deleteRunner.mutate(runner.id)}
                  >
                    Remove
                  </ConfirmButton>
                ) : null}
              </td>
            </tr>
          ))}
          {runners.data && runners.data.items.length === 0 ? (
            <tr>
              <td colSpan={7} className="muted">
                No runner has registered yet.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>

      {canManage ? (
        <>
          <h2>Runner tokens</h2>
          <form
            className="form inline-form"
            onSubmit={submit}
            data-testid="runner-token-form"
            aria-label="Create a runner token"
          >
            <label>
              Name
              <input value={name} onChange={(e) => setName(e.target.value)} required data-testid="runner-token-name" />
            </label>
            <label className="grow">
              Labels (k=v, comma separated)
              <input
                value={labels}
                onChange={(e) => setLabels(e.target.value)}
                placeholder="location=onprem"
                data-testid="runner-token-labels"
              />
            </label>
            <button
              type="submit"
              className="button primary"
              disabled={createToken.isPending}
              data-testid="runner-token-submit"
            >
              Create token
            </button>
          </form>
          <ErrorNote error={createToken.error ?? deleteToken.error ?? tokens.error} />
          {created ? (
            <div className="once-secret" role="status">
              <p>Start a runner with this command. The token is shown this once.</p>
              <div className="copy-row">
                <code data-testid="runner-command">{command}</code>
                <CopyButton text={command} testId="runner-command-copy" />
              </div>
            </div>
          ) : null}
          <table className="table" data-testid="runner-token-list">
            <thead>
              <tr>
                <th>Name</th>
                <th>Labels</th>
                <th>Created</th>
                <th>Expires</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {(tokens.data?.items ?? []).map((token) => (
                <tr key={token.id} data-testid={`runner-token-row-${token.id}`}>
                  <td>{token.name}</td>
                  <td>
                    <Labels labels={token.labels} />
                  </td>
                  <td>{formatTime(token.created_at)}</td>
                  <td>{formatTime(token.expires_at)}</td>
                  <td>
                    <ConfirmButton
                      label={`Revoke runner token ${token.name}`}
                      onConfirm={() => deleteToken.mutate(token.id)}
                    >
                      Revoke
                    </ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
