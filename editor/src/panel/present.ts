/**
 * What the side panel shows of a config schema that the schema itself may leave out: a
 * readable title per field (from its snake_case name when the schema has none), its default
 * in words, and the link to the node type's documentation. The stored config is untouched:
 * only the schema handed to the form changes.
 */
type Schema = Record<string, unknown>;

/** Words that read as abbreviations, spelled as people write them. */
const WORDS: Record<string, string> = {
  url: 'URL',
  uri: 'URI',
  id: 'ID',
  ids: 'IDs',
  json: 'JSON',
  html: 'HTML',
  http: 'HTTP',
  sql: 'SQL',
  qos: 'QoS',
  ttl: 'TTL',
  api: 'API',
  ts: 'timestamp',
  mb: '(MB)',
  s: '(s)',
  ms: '(ms)',
};

/** `timeout_s` -> "Timeout (s)", `max_keys` -> "Max keys", `json_schema` -> "JSON schema". */
export function humanise(name: string): string {
  const words = name.split(/[_\s-]+/).filter(Boolean);
  return words
    .map((word, index) => {
      const lower = word.toLowerCase();
      // A unit only reads as one after something ("s" alone is a name).
      const known = index === 0 && ['s', 'ms', 'mb'].includes(lower) ? undefined : WORDS[lower];
      if (known) return known;
      return index === 0 ? lower.charAt(0).toUpperCase() + lower.slice(1) : lower;
    })
    .join(' ');
}

/** A default as the form shows it under the field. */
export function defaultText(value: unknown): string {
  if (typeof value === 'string') return value.includes('\n') ? '(see the field)' : value;
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return JSON.stringify(value);
}

function describe(schema: Schema): string | undefined {
  const description = typeof schema.description === 'string' ? schema.description.trim() : '';
  // An empty or structured default says nothing a reader needs.
  if (schema.default === undefined || schema.default === '' || typeof schema.default === 'object')
    return description || undefined;
  const shown = `Default: ${defaultText(schema.default)}.`;
  if (description.includes('Default:')) return description;
  return description ? `${description} ${shown}` : shown;
}

/**
 * The config schema as the form shows it: each top-level field titled and its default
 * stated. Everything else (types, rules) is as the node type gives it.
 */
export function presentSchema(configSchema: Schema): Schema {
  const properties = configSchema.properties as Record<string, Schema> | undefined;
  if (!properties || typeof properties !== 'object') return configSchema;
  const shown: Record<string, Schema> = {};
  for (const [name, schema] of Object.entries(properties)) {
    if (!schema || typeof schema !== 'object') {
      shown[name] = schema;
      continue;
    }
    const next: Schema = { ...schema, title: typeof schema.title === 'string' ? schema.title : humanise(name) };
    const description = describe(schema);
    if (description) next.description = description;
    shown[name] = next;
  }
  return { ...configSchema, properties: shown };
}

// The API serves the documentation at /docs/ beside the editor; config.json may point elsewhere.
let docsBase = '/';

/** Where repository paths (`docs/...`) point: `docsBaseUrl` of config.json. */
export function setDocsBase(base: string | undefined): void {
  if (base) docsBase = base.endsWith('/') ? base : `${base}/`;
}

/** The link of a node type's `docs_url`: absolute URLs as they are, repository paths under the docs base. */
export function docsHref(docsUrl: string | null | undefined): string | null {
  if (!docsUrl) return null;
  if (/^https?:\/\//i.test(docsUrl)) return docsUrl;
  return docsBase + docsUrl.replace(/^\/+/, '');
}
