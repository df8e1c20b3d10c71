/**
 * The webhook trigger's config, as the triggers domain checks it (docs/triggers.md). The
 * OpenAPI document gives a trigger's `config` as an object, so its shape is spelled out here.
 */

export type WebhookConfig = {
  path: string;
  method?: string;
  auth?: { hmac_secret?: string; hmac_scheme?: 'standard-webhooks' | 'github'; token?: string };
  respond?: 'async' | 'sync';
  sync_timeout_s?: number;
};

/** The form trigger's config: a page at `/forms/<path>` whose fields `schema` describes. */
export type FormConfig = {
  path: string;
  title?: string;
  description?: string;
  schema: Record<string, unknown>;
  respond?: 'async' | 'sync';
  sync_timeout_s?: number;
};

/** Where a form trigger's page is served: `<origin>/forms/<path>`. */
export function formUrl(origin: string, path: string): string {
  const clean = path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
  return `${origin.replace(/\/+$/, '')}/forms/${clean}`;
}

/** A starting schema for a new form: a required name and an optional message. */
export const EXAMPLE_FORM_SCHEMA = JSON.stringify(
  {
    type: 'object',
    properties: {
      name: { type: 'string', title: 'Your name' },
      message: { type: 'string', title: 'Message' },
    },
    required: ['name'],
  },
  null,
  2,
);

/** The schema text parsed; text that is not JSON goes as it is, for the API to refuse. */
export function parseFormSchema(text: string): Record<string, unknown> | string {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : text;
  } catch {
    return text;
  }
}
