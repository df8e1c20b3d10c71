import { useState, type FormEvent } from 'react';
import { useDeleteSecret, usePutSecret, useSecrets } from '../api/hooks';
import { useCan } from '../auth/session';
import { ConfirmButton, ErrorNote, Loading, PageHeader, formatTime } from '../components/ui';
import { NAME_PATTERN } from './VariablesPage';

/** Secrets are write-only: a value can be set or replaced, never read back. */
export default function SecretsPage() {
  const secrets = useSecrets();
  const put = usePutSecret();
  const remove = useDeleteSecret();
  const canManage = useCan('secrets.manage');
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const valid = NAME_PATTERN.test(name);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!valid) return;
    put.mutate(
      { name, value },
      {
        onSuccess: () => {
          setSaved(name);
          setName('');
          setValue('');
        },
      },
    );
  };

  return (
    <section>
      <PageHeader title="Secrets" />
      <p className="muted">
        Read in templates as <code>{'{{ secrets.NAME }}'}</code>; masked as *** in every stored output, log and error.
        Values are never shown again once set.
      </p>
      {canManage ? (
        <form className="form inline-form" onSubmit={submit} data-testid="secret-form" aria-label="Set a secret">
          <label>
            Name
            <input
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              aria-invalid={!!name && !valid}
              data-testid="secret-name"
            />
          </label>
          <label className="grow">
            Value
            <input
              type="password"
              autoComplete="new-password"
              value={value}
              onChange={(e) => setValue(e.target.value)}
              required
              data-testid="secret-value"
            />
          </label>
          <button
            type="submit"
            className="button primary"
            disabled={put.isPending || !valid}
            data-testid="secret-submit"
          >
            Set secret
          </button>
        </form>
      ) : null}
      {saved ? (
        <p role="status" className="notice" data-testid="secret-saved">
          Secret {saved} saved.
        </p>
      ) : null}
      <ErrorNote error={secrets.error ?? put.error ?? remove.error} />
      {secrets.isPending ? <Loading /> : null}
      <table className="table" data-testid="secret-list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Updated</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(secrets.data?.items ?? []).map((secret) => (
            <tr key={secret.name} data-testid={`secret-row-${secret.name}`}>
              <td className="mono">{secret.name}</td>
              <td>{formatTime(secret.updated_at)}</td>
              <td className="row-actions">
                {canManage ? (
                  <>
                    <button type="button" className="button small" onClick={() => setName(secret.name)}>
                      Replace value
                    </button>
                    <ConfirmButton label={`Delete secret ${secret.name}`} onConfirm={() => remove.mutate(secret.name)}>
                      Delete
                    </ConfirmButton>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
