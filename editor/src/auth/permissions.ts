import type { Role } from '../api/models';

/**
 * What each role may do (api.md, "Auth and users"): viewers read; editors also write flows,
 * triggers, variables and connections and run flows; admins also manage users, secrets, runners and
 * tokens; owners everything. The UI offers only what the role may do; the API decides.
 */
export type Action =
  | 'flows.write'
  | 'triggers.write'
  | 'variables.write'
  | 'connections.write'
  | 'executions.run'
  | 'users.manage'
  | 'secrets.manage'
  | 'runners.manage'
  | 'tokens.manage'
  | 'organization.manage';

const EDITOR_ACTIONS: readonly Action[] = [
  'flows.write',
  'triggers.write',
  'variables.write',
  'connections.write',
  'executions.run',
];
const ADMIN_ACTIONS: readonly Action[] = [
  ...EDITOR_ACTIONS,
  'users.manage',
  'secrets.manage',
  'runners.manage',
  'tokens.manage',
  'organization.manage',
];

const GRANTS: Record<Role, ReadonlySet<Action>> = {
  viewer: new Set(),
  editor: new Set(EDITOR_ACTIONS),
  admin: new Set(ADMIN_ACTIONS),
  owner: new Set(ADMIN_ACTIONS),
};

/** Deny by default: an unknown role or no role may do nothing but read. */
export function can(role: Role | string | null | undefined, action: Action): boolean {
  if (!role || !(role in GRANTS)) return false;
  return GRANTS[role as Role].has(action);
}

/** Roles a user of `role` may hand out: an admin cannot make owners. */
export function assignableRoles(role: Role | null | undefined): Role[] {
  if (role === 'owner') return ['owner', 'admin', 'editor', 'viewer'];
  if (role === 'admin') return ['admin', 'editor', 'viewer'];
  return [];
}
