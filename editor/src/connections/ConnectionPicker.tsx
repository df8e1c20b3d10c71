import { useState } from 'react';
import { createPortal } from 'react-dom';
import type { WidgetProps } from '@rjsf/utils';
import { useConnections, useConnectionTypes } from '../api/hooks';
import { useCan } from '../auth/session';
import { Modal } from '../components/ui';
import { ConnectionForm } from './ConnectionForm';

/**
 * rjsf widget of an integration node's `connection`: the existing connections of the types the
 * node takes (its type's `connection_types`, in `options.connectionTypes`), and "New
 * connection" to create one of those types inline and select it.
 */
export function ConnectionPicker(props: WidgetProps) {
  const allowed = (props.options.connectionTypes as string[] | undefined) ?? [];
  const connections = useConnections();
  const types = useConnectionTypes();
  const canCreate = useCan('connections.write') && !props.readonly && !props.disabled;
  const [creating, setCreating] = useState(false);
  const value = typeof props.value === 'string' ? props.value : '';
  const usable = (connections.data?.items ?? []).filter((c) => allowed.includes(c.type));
  const known = usable.some((c) => c.name === value);
  const title = (type: string) => types.data?.get(type)?.title ?? type;

  return (
    <div className="connection-picker">
      <select
        id={props.id}
        value={value}
        disabled={props.readonly || props.disabled}
        aria-label={props.label || 'Connection'}
        data-testid="connection-picker"
        onChange={(e) => props.onChange(e.target.value || undefined)}
      >
        <option value="">{connections.isPending ? 'Loading…' : 'Choose a connection'}</option>
        {usable.map((c) => (
          <option key={c.name} value={c.name}>
            {c.name} ({title(c.type)}){c.status === 'needs_reconnect' ? ', needs reconnect' : ''}
          </option>
        ))}
        {value && !known && !connections.isPending ? (
          <option value={value}>{value} (not found, or of another type)</option>
        ) : null}
      </select>
      {canCreate ? (
        <button
          type="button"
          className="button small"
          disabled={!types.data}
          onClick={() => setCreating(true)}
          data-testid="connection-picker-new"
        >
          New connection
        </button>
      ) : null}
      {creating && types.data
        ? // Out of the node panel's form in the DOM: one form may not hold another.
          createPortal(
            <Modal title="New connection" onClose={() => setCreating(false)} testId="connection-dialog" wide>
              <ConnectionForm
                types={types.data}
                allowedTypes={allowed}
                onCancel={() => setCreating(false)}
                onSaved={(connection) => {
                  setCreating(false);
                  props.onChange(connection.name);
                }}
              />
            </Modal>,
            document.body,
          )
        : null}
    </div>
  );
}
