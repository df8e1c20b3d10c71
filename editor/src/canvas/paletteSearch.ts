import type { NodeType } from '../api/models';

/**
 * Words people search by that a type's own title and description may not contain, by type
 * and by group (a group's words apply to each of its types, so a plugin's postgres node
 * is found by "sql" too).
 */
const TYPE_WORDS: Record<string, string[]> = {
  condition: ['if', 'else', 'branch', 'boolean', 'compare', 'when', 'filter'],
  switch: ['case', 'route', 'router', 'branch', 'match', 'select'],
  foreach: ['loop', 'each', 'iterate', 'map', 'repeat', 'for', 'batch'],
  set: ['assign', 'variable', 'transform', 'mapping', 'edit', 'json'],
  merge: ['join', 'combine', 'wait', 'and'],
  delay: ['wait', 'sleep', 'pause', 'timer'],
  fail: ['error', 'throw', 'raise', 'stop', 'abort'],
  return: ['end', 'stop', 'respond', 'response', 'output', 'finish', 'reply'],
  log: ['print', 'debug', 'console', 'trace'],
  subflow: ['call', 'child', 'workflow', 'reuse', 'execute', 'run'],
  on_error: ['catch', 'exception', 'error handler', 'failure', 'try'],
  http: ['api', 'rest', 'request', 'fetch', 'get', 'post', 'url', 'web', 'curl', 'call'],
  python: ['code', 'script', 'function', 'py'],
  shell: ['bash', 'command', 'script', 'exec', 'terminal', 'sh', 'cli'],
  'llm.chat': ['ai', 'gpt', 'chatgpt', 'openai', 'prompt', 'model'],
};

const GROUP_WORDS: Record<string, string[]> = {
  postgres: ['sql', 'database', 'db', 'query', 'postgresql', 'select', 'insert'],
  mysql: ['sql', 'database', 'db', 'query', 'mariadb', 'select', 'insert'],
  redis: ['cache', 'key', 'value', 'kv'],
  s3: ['bucket', 'object', 'storage', 'file', 'aws', 'minio', 'upload', 'download'],
  git: ['repository', 'repo', 'github', 'gitlab', 'commit', 'file'],
  email: ['mail', 'smtp', 'send', 'notify', 'message'],
  amqp: ['queue', 'rabbitmq', 'message', 'broker', 'publish'],
  mqtt: ['queue', 'iot', 'message', 'broker', 'topic', 'publish'],
  nats: ['queue', 'jetstream', 'message', 'broker', 'stream', 'publish'],
  slack: ['chat', 'message', 'notify', 'notification', 'channel'],
  openai: ['ai', 'llm', 'gpt', 'chat'],
  csv: ['spreadsheet', 'table', 'parse', 'file', 'excel'],
};

/** Words that name a trigger: no node type has them, a hint says where triggers are set. */
const TRIGGER_WORDS = ['webhook', 'hook', 'trigger', 'schedule', 'cron', 'timer', 'event', 'start'];

function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** How well `type` matches the search (0: not at all; higher is better). */
export function matchScore(type: NodeType, search: string, groupTitle: string = type.group): number {
  const needles = words(search);
  if (!needles.length) return 1;
  const keywords = [...(TYPE_WORDS[type.type] ?? []), ...(GROUP_WORDS[type.group] ?? [])].flatMap(words);
  const names = words(`${type.title} ${type.type} ${type.group} ${groupTitle}`);
  const described = words(type.description ?? '');
  let score = 0;
  for (const needle of needles) {
    // Exact words count most: a title or keyword that is the search ("if", "sql") comes first.
    if (names.includes(needle)) score += 8;
    else if (keywords.includes(needle)) score += 6;
    else if (names.some((w) => w.startsWith(needle))) score += 4;
    else if (keywords.some((w) => w.startsWith(needle))) score += 3;
    else if (needle.length >= 3 && described.some((w) => w.startsWith(needle))) score += 1;
    else return 0;
  }
  return score;
}

/** The types matching `search`, best first (ties: by title). `start` is never offered. */
export function searchTypes(
  types: Iterable<NodeType>,
  search: string,
  groupTitle: (group: string) => string = (g) => g,
): NodeType[] {
  const scored: [NodeType, number][] = [];
  for (const type of types) {
    if (type.type === 'start') continue;
    const score = matchScore(type, search, groupTitle(type.group));
    if (score > 0) scored.push([type, score]);
  }
  return scored.sort(([a, x], [b, y]) => y - x || a.title.localeCompare(b.title)).map(([type]) => type);
}

/** Whether the search names a trigger (webhook, schedule...) rather than a node. */
export function isTriggerSearch(search: string): boolean {
  return words(search).some((w) => TRIGGER_WORDS.includes(w));
}
