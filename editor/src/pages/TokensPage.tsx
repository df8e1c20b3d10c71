import { useState, type FormEvent } from 'react';
import { useCreateToken, useDeleteToken, useTokens } from '../api/hooks';
import { useCan } from '../auth/session';
import { ConfirmButton, ErrorNote, Loading, OnceSecret, PageHeader, formatTime } from '../components/ui';

/** API tokens for scripts and the command line; each secret is shown once, at creation. */
export default function TokensPage() {
  const canManage = useCan('tokens.manage');
  const tokens = useTokens();
  const create = useCreateToken();
  const remove = useDeleteToken();
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  if (!canManage) return <p className="muted">Only admins manage API tokens.</p>;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { name, ...(expires ? { expires_at: new Date(`${expires}T23:59:59Z`).toISOString() } : {}) },
      {
        onSuccess: (answer) => {
          setCreated(answer.token);
          setName('');
          setExpires('');
        },
      },
    );
  };

  return (
    <section>
      <PageHeader title="API tokens" />
      <form className="form inline-form" onSubmit={submit} data-testid="token-form" aria-label="Create an API token">
        <label>
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} data-testid="token-name" />
        </label>
        <label>
          Expires (optional)
          <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} data-testid="token-expires" />
        </label>
        <button type="submit" className="button primary" disabled={create.isPending} data-testid="token-submit">
          Create token
        </button>
      </form>
      {created ? (
        <OnceSecret
          value={created}
          testId="token-created"
          note="Use it as Authorization: Bearer <token>. Copy it now: it will not be shown again."
        />
      ) : null}
      <ErrorNote error={tokens.error ?? create.error ?? remove.error} />
      {tokens.isPending ? <Loading /> : null}
      <table className="table" data-testid="token-list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Last used</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(tokens.data?.items ?? []).map((token) => (
            <tr key={token.id} data-testid={`token-row-${token.id}`}>
              <td>{token.name}</td>
              <td>{formatTime(token.created_at)}</td>
              <td>{formatTime(token.expires_at)}</td>
              <td>{formatTime(token.last_used_at)}</td>
              <td>
                <ConfirmButton label={`Revoke token ${token.name}`} onConfirm={() => remove.mutate(token.id)}>
                  Revoke
                </ConfirmButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
