import type { NodeType } from '../api/models';

// The glyph of a connection, an integration or anything whose icon is not known.
const PLUG = '⌁';

/**
 * Glyphs for icon names the API may send (node types' and connection types' `icon`, mostly
 * Lucide names), for node types, and for integration groups (a node type's `group` names its
 * service), as fallbacks in that order.
 */
const GLYPHS: Record<string, string> = {
  start: '▶',
  play: '▶',
  set: '✎',
  edit: '✎',
  pencil: '✎',
  condition: '◇',
  branch: '◇',
  'git-branch': '◇',
  switch: '⇶',
  route: '⇶',
  foreach: '↻',
  repeat: '↻',
  loop: '↻',
  merge: '⋈',
  'git-merge': '⋈',
  delay: '◴',
  clock: '◴',
  timer: '◴',
  fail: '✖',
  x: '✖',
  'alert-triangle': '⚠',
  return: '⏎',
  'corner-down-left': '⏎',
  log: '☰',
  'file-text': '☰',
  list: '☰',
  http: '⇄',
  globe: '⇄',
  python: 'Py',
  code: '</>',
  shell: '$',
  terminal: '$',
  subflow: '▣',
  layers: '▣',
  workflow: '▣',
  on_error: '⚠',
  'shield-alert': '⚠',
  bug: '⚠',
  braces: '{}',
  'list-tree': '⇶',
  'x-octagon': '✖',
  'scroll-text': '☰',
  // ---- integrations: icons the integration modules declare, and their groups ----
  plug: PLUG,
  'plug-zap': PLUG,
  link: PLUG,
  cable: PLUG,
  integration: PLUG,
  openapi: PLUG,
  database: '⛁',
  'database-zap': '⛁',
  server: '⛁',
  postgres: '⛁',
  postgresql: '⛁',
  mysql: '⛁',
  mariadb: '⛁',
  redis: '◆',
  table: '▦',
  sheet: '▦',
  'table-2': '▦',
  csv: '▦',
  s3: '◫',
  bucket: '◫',
  archive: '◫',
  cloud: '◫',
  'hard-drive': '◫',
  git: '⎇',
  github: '⎇',
  'git-commit': '⎇',
  'git-pull-request': '⎇',
  mail: '✉',
  email: '✉',
  smtp: '✉',
  imap: '✉',
  inbox: '✉',
  send: '➤',
  nats: '➤',
  slack: '#',
  hash: '#',
  message: '❝',
  'message-square': '❝',
  'message-circle': '❝',
  queue: '⇉',
  rabbit: '⇉',
  amqp: '⇉',
  radio: '◉',
  mqtt: '◉',
  rss: '◉',
  llm: '✦',
  openai: '✦',
  sparkles: '✦',
  bot: '✦',
  brain: '✦',
  webhook: '⇄',
};

function glyphOf(name: string | undefined): string | undefined {
  const key = name
    ?.trim()
    .toLowerCase()
    .replace(/^(lucide|mdi|fa)[:-]/, '');
  return key ? GLYPHS[key] : undefined;
}

/**
 * The glyph of an icon name (a connection type's `icon`), else of `fallback` (a type or group
 * name), else the plug. An emoji or a one/two-letter glyph is drawn as it is.
 */
export function iconGlyph(icon: string | undefined, ...fallbacks: (string | undefined)[]): string {
  const known = glyphOf(icon);
  if (known) return known;
  const trimmed = icon?.trim();
  if (trimmed && [...trimmed].length <= 2) return trimmed;
  for (const name of fallbacks) {
    // `postgres.query`, `openapi.petstore.getPet`: the service is the first part.
    const glyph = glyphOf(name) ?? glyphOf(name?.split('.')[0]);
    if (glyph) return glyph;
  }
  return PLUG;
}

export function nodeGlyph(type: string, nodeType?: NodeType): string {
  return iconGlyph(nodeType?.icon, type, nodeType?.group);
}

/** A palette group's glyph: its service's, else its first node type's. */
export function groupGlyph(group: string, first: NodeType | undefined): string {
  return glyphOf(group) ?? glyphOf(group.split('.')[0]) ?? (first ? nodeGlyph(first.type, first) : PLUG);
}

const GROUP_TITLES: Record<string, string> = {
  postgres: 'PostgreSQL',
  mysql: 'MySQL / MariaDB',
  redis: 'Redis',
  s3: 'S3',
  git: 'Git',
  email: 'Email',
  slack: 'Slack',
  openai: 'LLM',
  llm: 'LLM',
  amqp: 'RabbitMQ (AMQP)',
  mqtt: 'MQTT',
  nats: 'NATS',
  csv: 'CSV',
  http: 'HTTP',
  openapi: 'OpenAPI',
};

/** How the palette titles a group: a service's own spelling, else the group as it is. */
export function groupTitle(group: string): string {
  if (GROUP_TITLES[group]) return GROUP_TITLES[group];
  // Imported OpenAPI services: `openapi.petstore` reads "petstore (OpenAPI)".
  if (group.startsWith('openapi.')) return `${group.slice('openapi.'.length)} (OpenAPI)`;
  return group;
}
