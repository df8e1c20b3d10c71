import { useState, type FormEvent } from 'react';
import { useDeleteVariable, usePutVariable, useVariables } from '../api/hooks';
import type { JsonValue } from '../flow/format';
import { useCan } from '../auth/session';
import { ConfirmButton, ErrorNote, Loading, PageHeader, formatTime } from '../components/ui';

export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Organisation variables: any JSON value, read in templates as `vars.NAME`. */
export default function VariablesPage() {
  const variables = useVariables();
  const put = usePutVariable();
  const remove = useDeleteVariable();
  const canWrite = useCan('variables.write');
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const [parseError, setParseError] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let value: JsonValue;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch {
      // Plain text is taken as a string, as most variables are.
      value = text;
    }
    setParseError(
      NAME_PATTERN.test(name) ? null : 'Names start with a letter or _, then letters, digits or _ (64 at most).',
    );
    if (!NAME_PATTERN.test(name)) return;
    put.mutate(
      { name, value },
      {
        onSuccess: () => {
          setName('');
          setText('');
        },
      },
    );
  };

  return (
    <section>
      <PageHeader title="Variables" />
      <p className="muted">
        Read in templates as <code>{'{{ vars.NAME }}'}</code>. Values are visible to everyone in the organisation: keep
        credentials in secrets.
      </p>
      {canWrite ? (
        <form className="form inline-form" onSubmit={submit} data-testid="variable-form" aria-label="Set a variable">
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} required data-testid="variable-name" />
          </label>
          <label className="grow">
            Value (JSON, or plain text for a string)
            <input value={text} onChange={(e) => setText(e.target.value)} data-testid="variable-value" />
          </label>
          <button type="submit" className="button primary" disabled={put.isPending} data-testid="variable-submit">
            Set
          </button>
        </form>
      ) : null}
      {parseError ? <p className="field-error">{parseError}</p> : null}
      <ErrorNote error={variables.error ?? put.error ?? remove.error} />
      {variables.isPending ? <Loading /> : null}
      <table className="table" data-testid="variable-list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Value</th>
            <th>Updated</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(variables.data?.items ?? []).map((variable) => (
            <tr key={variable.name} data-testid={`variable-row-${variable.name}`}>
              <td className="mono">{variable.name}</td>
              <td>
                <code className="value">{JSON.stringify(variable.value)}</code>
              </td>
              <td>{formatTime(variable.updated_at)}</td>
              <td className="row-actions">
                {canWrite ? (
                  <>
                    <button
                      type="button"
                      className="button small"
                      onClick={() => {
                        setName(variable.name);
                        setText(JSON.stringify(variable.value));
                      }}
                    >
                      Edit
                    </button>
                    <ConfirmButton
                      label={`Delete variable ${variable.name}`}
                      onConfirm={() => remove.mutate(variable.name)}
                    >
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
