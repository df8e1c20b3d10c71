import type { Connection, ConnectionType } from '../api/models';

/**
 * What the API answers for a secret field that is set, and what a PUT sends to keep it
 * (integrations.md, "Connections"): the editor never holds a secret it did not just type.
 */
export const MASK = '***';

type Schema = Record<string, unknown>;

function properties(type: ConnectionType | undefined): Record<string, Schema> {
  const props = (type?.schema as Schema | undefined)?.properties;
  return props && typeof props === 'object' ? (props as Record<string, Schema>) : {};
}

/** The type's write-only fields: `secret_fields`, and any property marked `"x-secret": true`. */
export function secretFields(type: ConnectionType | undefined): Set<string> {
  const out = new Set(type?.secret_fields ?? []);
  for (const [name, schema] of Object.entries(properties(type))) if (schema?.['x-secret'] === true) out.add(name);
  return out;
}

/** Secret fields that hold a value on the API (answered as `"***"`). */
export function setSecrets(type: ConnectionType | undefined, connection: Connection | undefined): Set<string> {
  const secret = secretFields(type);
  return new Set(
    Object.keys(connection?.values ?? {}).filter((key) => secret.has(key) && connection?.values[key] === MASK),
  );
}

/** Multi-line secrets (keys, certificates) are typed in a text area, not a one-line input. */
function multiline(name: string, schema: Schema): boolean {
  return schema['x-multiline'] === true || /(private_key|certificate|_pem)$/.test(name);
}

/**
 * rjsf's uiSchema for a type's values: secret fields in the write-only widget, told which of
 * them are already set so that leaving one empty keeps it.
 */
export function connectionUiSchema(
  type: ConnectionType | undefined,
  alreadySet: ReadonlySet<string>,
  onClear?: (field: string) => void,
) {
  const ui: Record<string, unknown> = { 'ui:submitButtonOptions': { norender: true } };
  const secret = secretFields(type);
  for (const [name, schema] of Object.entries(properties(type))) {
    if (!secret.has(name)) continue;
    ui[name] = {
      'ui:widget': 'secret',
      'ui:options': {
        wasSet: alreadySet.has(name),
        multiline: multiline(name, schema),
        onClear: onClear && (() => onClear(name)),
      },
    };
  }
  return ui;
}

/**
 * The values a PUT sends: what the form holds, where a secret field left as it was is `"***"`
 * (kept by the API), and empty optional fields are left out rather than sent as "".
 */
export function valuesToSend(formData: Record<string, unknown>, alreadySet: ReadonlySet<string>) {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(formData)) {
    if (value === undefined || value === '') continue;
    out[key] = value;
  }
  for (const key of alreadySet) if (!(key in out)) out[key] = MASK;
  return out;
}
