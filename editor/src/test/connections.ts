import type { Connection, ConnectionType } from '../api/models';

/** Connection types and connections as the API answers them (integrations.md), for tests. */

export const MASK = '***';

/** The `postgres` type as the API describes it (integrations.md): `password` is write-only. */
export const postgresType: ConnectionType = {
  type: 'postgres',
  title: 'PostgreSQL',
  icon: 'database',
  description: '',
  secret_fields: ['password'],
  schema: {
    type: 'object',
    properties: {
      host: { type: 'string', title: 'Host', minLength: 1 },
      port: { type: 'integer', title: 'Port', default: 5432 },
      database: { type: 'string', title: 'Database', minLength: 1 },
      user: { type: 'string', title: 'User', minLength: 1 },
      password: { type: 'string', title: 'Password', 'x-secret': true },
    },
    required: ['host', 'database', 'user'],
  },
};

export const redisType: ConnectionType = {
  type: 'redis',
  title: 'Redis',
  icon: 'redis',
  description: '',
  secret_fields: ['password'],
  schema: {
    type: 'object',
    properties: { url: { type: 'string', title: 'URL' }, password: { type: 'string', 'x-secret': true } },
    required: ['url'],
  },
};

export const oauthType: ConnectionType = {
  type: 'openapi.crm',
  title: 'CRM',
  icon: 'plug',
  description: '',
  auth: 'oauth2',
  secret_fields: ['client_secret'],
  schema: {
    type: 'object',
    properties: { client_id: { type: 'string' }, client_secret: { type: 'string', 'x-secret': true } },
  },
};

export function connection(
  name: string,
  type: string,
  values: Record<string, unknown>,
  extra: Partial<Connection> = {},
) {
  return {
    name,
    type,
    values,
    status: 'ok',
    updated_at: '2026-12-07T10:00:00Z',
    last_tested_at: null,
    last_error: null,
    ...extra,
  } satisfies Connection;
}
