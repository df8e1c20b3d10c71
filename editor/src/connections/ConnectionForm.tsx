import { useId, useMemo, useState, type FormEvent } from 'react';
import Form from '@rjsf/core';
import validator from '@rjsf/validator-ajv8';
import type { RJSFSchema } from '@rjsf/utils';
import type { Connection, ConnectionType } from '../api/models';
import { usePutConnection } from '../api/hooks';
import { ErrorNote } from '../components/ui';
import { NAME_PATTERN } from '../pages/VariablesPage';
import { SecretWidget } from './SecretWidget';
import { connectionUiSchema, setSecrets, valuesToSend } from './values';

const widgets = { secret: SecretWidget };

export interface ConnectionFormProps {
  types: Map<string, ConnectionType>;
  /** Only these types may be chosen (a node's `connection_types`); all when absent. */
  allowedTypes?: readonly string[];
  /** Editing: its name and type are fixed; secret fields that are set stay write-only. */
  existing?: Connection;
  onSaved: (connection: Connection) => void;
  onCancel: () => void;
}

function typeChoices(types: Map<string, ConnectionType>, allowed?: readonly string[]): ConnectionType[] {
  const list = [...types.values()].filter((type) => !allowed || allowed.includes(type.type));
  return list.sort((a, b) => a.title.localeCompare(b.title));
}

/** Create or edit a connection: a name, a type, and the type's values from its JSON schema. */
export function ConnectionForm({ types, allowedTypes, existing, onSaved, onCancel }: ConnectionFormProps) {
  const choices = useMemo(() => typeChoices(types, allowedTypes), [types, allowedTypes]);
  const [name, setName] = useState(existing?.name ?? '');
  const [typeName, setTypeName] = useState(existing?.type ?? choices[0]?.type ?? '');
  const [formData, setFormData] = useState<Record<string, unknown>>(() => ({ ...(existing?.values ?? {}) }));
  const put = usePutConnection();
  const formId = useId();
  const type = types.get(typeName);
  // Secret fields the user chose to drop: no longer kept, left out of the PUT.
  const [cleared, setCleared] = useState<ReadonlySet<string>>(new Set());
  const alreadySet = useMemo(() => {
    const set = setSecrets(type, existing);
    for (const field of cleared) set.delete(field);
    return set;
  }, [type, existing, cleared]);
  const uiSchema = useMemo(
    () =>
      connectionUiSchema(type, alreadySet, (field) => {
        setCleared((before) => new Set([...before, field]));
        setFormData(({ [field]: _dropped, ...rest }) => rest);
      }),
    [type, alreadySet],
  );
  const nameValid = NAME_PATTERN.test(name);

  const save = (values: Record<string, unknown>) => {
    if (!nameValid || !type) return;
    put.mutate({ name, type: type.type, values: valuesToSend(values, alreadySet) }, { onSuccess: onSaved });
  };

  if (!choices.length && !existing)
    return <p className="muted">No connection type {allowedTypes ? 'for this node ' : ''}is known to the API.</p>;

  return (
    <div className="connection-form" data-testid="connection-form">
      <div className="form">
        <label>
          Name <span className="muted small">(nodes name it in their connection field)</span>
          <input
            value={name}
            readOnly={!!existing}
            required
            aria-invalid={!!name && !nameValid}
            data-testid="connection-name"
            onChange={(e) => setName(e.target.value)}
          />
          {name && !nameValid ? (
            <span className="field-error">Letters, digits and _, starting with a letter or _ (64 at most).</span>
          ) : null}
        </label>
        <label>
          Type
          <select
            value={typeName}
            disabled={!!existing}
            data-testid="connection-type"
            onChange={(e) => {
              setTypeName(e.target.value);
              setFormData({});
            }}
          >
            {existing && !type ? <option value={existing.type}>{existing.type} (unknown type)</option> : null}
            {choices.map((choice) => (
              <option key={choice.type} value={choice.type}>
                {choice.title}
              </option>
            ))}
          </select>
        </label>
        {type?.description ? <p className="muted small">{type.description}</p> : null}
      </div>
      {type ? (
        <div className="config-form">
          <Form
            key={type.type}
            schema={type.schema as RJSFSchema}
            uiSchema={uiSchema}
            formData={formData}
            validator={validator}
            widgets={widgets}
            showErrorList={false}
            noHtml5Validate
            onChange={(event) => setFormData((event.formData ?? {}) as Record<string, unknown>)}
            onSubmit={(event, domEvent?: FormEvent) => {
              // The picker opens this form inside a node panel's form: keep the submit here.
              domEvent?.stopPropagation();
              save((event.formData ?? {}) as Record<string, unknown>);
            }}
            id={formId}
            idPrefix="connection"
          />
        </div>
      ) : (
        <p className="muted">The API does not know this type any more: it cannot be edited here.</p>
      )}
      <ErrorNote error={put.error} testId="connection-save-error" />
      <div className="form-actions">
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
        <button
          type="submit"
          form={formId}
          className="button primary"
          disabled={put.isPending || !nameValid || !type}
          data-testid="connection-save"
        >
          {existing ? 'Save connection' : 'Create connection'}
        </button>
      </div>
    </div>
  );
}
