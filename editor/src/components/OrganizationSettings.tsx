import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { keys, useFlows } from '../api/hooks';
import { api } from '../api/instance';
import type { Organization } from '../api/models';
import { ErrorNote } from './ui';

function OrganizationForm({ organization }: { organization: Organization }) {
  const queryClient = useQueryClient();
  const flows = useFlows();
  const [name, setName] = useState(organization.name);
  const [errorFlow, setErrorFlow] = useState(organization.error_flow_id ?? '');
  const patch = useMutation({
    mutationFn: () => api().patchOrganization({ name, error_flow_id: errorFlow || null }),
    onSuccess: (saved) => {
      queryClient.setQueryData(keys.organization, saved);
      void queryClient.invalidateQueries({ queryKey: keys.me });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    patch.mutate();
  };
  return (
    <form
      className="form inline-form"
      onSubmit={submit}
      data-testid="organization-form"
      aria-label="Organization settings"
    >
      <label>
        Organization name
        <input required value={name} onChange={(e) => setName(e.target.value)} data-testid="organization-name" />
      </label>
      <label className="grow">
        Error flow (started with every failed execution's details)
        <select value={errorFlow} onChange={(e) => setErrorFlow(e.target.value)} data-testid="organization-error-flow">
          <option value="">none</option>
          {(flows.data?.items ?? []).map((flow) => (
            <option key={flow.id} value={flow.id}>
              {flow.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="button primary" disabled={patch.isPending} data-testid="organization-submit">
        Save
      </button>
      {patch.isSuccess ? (
        <span role="status" className="muted">
          Saved.
        </span>
      ) : null}
      <ErrorNote error={patch.error} />
    </form>
  );
}

/** The organisation's name and error flow (admins). */
export function OrganizationSettings() {
  const organization = useQuery({ queryKey: keys.organization, queryFn: () => api().getOrganization() });
  if (organization.error) return <ErrorNote error={organization.error} />;
  if (!organization.data) return null;
  return <OrganizationForm key={organization.data.id} organization={organization.data} />;
}
