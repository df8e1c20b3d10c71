import { describe, expect, it } from 'vitest';
import { assignableRoles, can } from './permissions';

describe('role permissions', () => {
  it('lets viewers only read', () => {
    for (const action of [
      'flows.write',
      'executions.run',
      'variables.write',
      'connections.write',
      'secrets.manage',
    ] as const) {
      expect(can('viewer', action)).toBe(false);
    }
  });

  it('lets editors write flows, triggers, variables and run, but not administer', () => {
    expect(can('editor', 'flows.write')).toBe(true);
    expect(can('editor', 'triggers.write')).toBe(true);
    expect(can('editor', 'variables.write')).toBe(true);
    expect(can('editor', 'connections.write')).toBe(true);
    expect(can('editor', 'executions.run')).toBe(true);
    expect(can('editor', 'secrets.manage')).toBe(false);
    expect(can('editor', 'users.manage')).toBe(false);
    expect(can('editor', 'runners.manage')).toBe(false);
    expect(can('editor', 'tokens.manage')).toBe(false);
  });

  it('lets admins and owners manage users, secrets, runners and tokens', () => {
    for (const role of ['admin', 'owner'] as const) {
      expect(can(role, 'users.manage')).toBe(true);
      expect(can(role, 'secrets.manage')).toBe(true);
      expect(can(role, 'runners.manage')).toBe(true);
      expect(can(role, 'tokens.manage')).toBe(true);
      expect(can(role, 'flows.write')).toBe(true);
    }
  });

  it('denies unknown or missing roles', () => {
    expect(can('superuser', 'flows.write')).toBe(false);
    expect(can(null, 'flows.write')).toBe(false);
  });

  it('never lets an admin hand out the owner role', () => {
    expect(assignableRoles('admin')).not.toContain('owner');
    expect(assignableRoles('owner')).toContain('owner');
    expect(assignableRoles('editor')).toEqual([]);
  });
});
