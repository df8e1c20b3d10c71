import { useState, type FormEvent } from 'react';
import { useCreateUser, useDeleteUser, usePatchUser, useUsers } from '../api/hooks';
import type { Role } from '../api/models';
import { useSession } from '../auth/session';
import { assignableRoles } from '../auth/permissions';
import { ConfirmButton, ErrorNote, Loading, PageHeader } from '../components/ui';
import { OrganizationSettings } from '../components/OrganizationSettings';

export default function UsersPage() {
  const { me, can } = useSession();
  const users = useUsers();
  const create = useCreateUser();
  const patch = usePatchUser();
  const remove = useDeleteUser();
  const roles = assignableRoles(me.role);
  const [form, setForm] = useState({ email: '', name: '', password: '', role: 'editor' as Role });
  if (!can('users.manage')) return <p className="muted">Only admins manage users.</p>;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(form, { onSuccess: () => setForm({ email: '', name: '', password: '', role: 'editor' }) });
  };

  return (
    <section>
      <PageHeader title="Organization" />
      {can('organization.manage') ? <OrganizationSettings /> : null}
      <h2>Users and roles</h2>
      <p className="muted">
        Viewers read; editors also write flows, triggers and variables and run flows; admins also manage users, secrets,
        runners and tokens; owners everything.
      </p>
      <form className="form inline-form" onSubmit={submit} data-testid="user-form" aria-label="Add a user">
        <label>
          Email
          <input
            type="email"
            required
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
            data-testid="user-email"
          />
        </label>
        <label>
          Name
          <input
            required
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
            data-testid="user-name"
          />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="new-password"
            required
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
            data-testid="user-password"
          />
        </label>
        <label>
          Role
          <select
            value={form.role}
            onChange={(e) => setForm({ ...form, role: e.target.value as Role })}
            data-testid="user-role"
          >
            {roles.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="button primary" disabled={create.isPending} data-testid="user-submit">
          Add user
        </button>
      </form>
      <ErrorNote error={users.error ?? create.error ?? patch.error ?? remove.error} />
      {users.isPending ? <Loading /> : null}
      <table className="table" data-testid="user-list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Role</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(users.data?.items ?? []).map((user) => {
            const editable = user.id !== me.id && (user.role !== 'owner' || me.role === 'owner');
            return (
              <tr key={user.id} data-testid={`user-row-${user.id}`}>
                <td>{user.name}</td>
                <td>{user.email}</td>
                <td>
                  {editable ? (
                    <select
                      aria-label={`Role of ${user.email}`}
                      value={user.role}
                      onChange={(e) => patch.mutate({ id: user.id, role: e.target.value as Role })}
                      data-testid={`user-role-${user.id}`}
                    >
                      {[...new Set([user.role, ...roles])].map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    user.role
                  )}
                </td>
                <td>
                  {editable ? (
                    <ConfirmButton label={`Remove user ${user.email}`} onConfirm={() => remove.mutate(user.id)}>
                      Remove
                    </ConfirmButton>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
