import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { keys, useFlows } from '../api/hooks';
import { api } from '../api/instance';
import type { Organization } from '../api/models';
import { ErrorNote } from './ui';

type SaveData = Organization['defaults']['save_data'];

function OrganizationForm({ organization }: { organization: Organization }) {
  const queryClient = useQueryClient();
  const flows = useFlows();
  const [name, setName] = useState(organization.name);
  const [errorFlow, setErrorFlow] = useState(organization.error_flow_id ?? '');
  const [saveData, setSaveData] = useState<SaveData>(organization.defaults?.save_data ?? 'all');
  const patch = useMutation({
    mutationFn: () =>
      api().patchOrganization({ name, error_flow_id: errorFlow || null, defaults: { save_data: saveData } }),
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
      <label>
        Execution data kept (flows that do not set their own)
        <select
          value={saveData}
          onChange={(e) => setSaveData(e.target.value as SaveData)}
          data-testid="organization-save-data"
        >
          <option value="all">all: steps and logs</option>
          <option value="errors">errors: steps and logs of executions that did not succeed</option>
          <option value="none">none: each execution's summary only</option>
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

/** The organisation's name, error flow and what executions keep by default (admins). */
export function OrganizationSettings() {
  const organization = useQuery({ queryKey: keys.organization, queryFn: () => api().getOrganization() });
  if (organization.error) return <ErrorNote error={organization.error} />;
  if (!organization.data) return null;
  return <OrganizationForm key={organization.data.id} organization={organization.data} />;
}
