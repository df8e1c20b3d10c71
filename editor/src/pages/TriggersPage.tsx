import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useCreateTrigger, useDeleteTrigger, useFlow, usePatchTrigger, useTriggers } from '../api/hooks';
import type { Trigger, TriggerState } from '../api/models';
import type { WebhookConfig } from '../triggers/config';
import { useCan } from '../auth/session';
import { ConfirmButton, ErrorNote, Loading, Modal, PageHeader, formatTime } from '../components/ui';
import { CronPreviewView, FormLink, TriggerForm, WebhookCommand } from '../triggers/TriggerForm';

function stateOf(trigger: Trigger): TriggerState {
  return { ...trigger, ...(trigger.state ?? {}) };
}

function summary(trigger: Trigger) {
  const c = trigger.config as Record<string, unknown>;
  switch (trigger.type) {
    case 'schedule':
      return (
        <>
          <code>{String(c.cron)}</code>
          <CronPreviewView cron={String(c.cron ?? '')} timezone={String(c.timezone ?? 'UTC')} />
        </>
      );
    case 'webhook':
      return (
        <WebhookCommand
          config={c as unknown as WebhookConfig}
          hookPath={trigger.hook_url_path}
          testId={`trigger-curl-${trigger.id}`}
        />
      );
    case 's3':
      return (
        <span>
          s3://{String(c.bucket)}/{String(c.prefix ?? '')} every {String(c.interval_s ?? 60)} s
        </span>
      );
    case 'git':
      return (
        <span>
          {String(c.url)} @ {String(c.branch ?? 'main')} every {String(c.interval_s ?? 60)} s
        </span>
      );
    case 'form':
      return (
        <>
          <FormLink path={trigger.hook_url_path ?? String(c.path ?? '')} testId={`trigger-form-url-${trigger.id}`} />
          <span className="muted">
            {trigger.state?.events_total ?? 0} submitted, {trigger.state?.rejected_total ?? 0} rejected
          </span>
        </>
      );
  }
}

export default function TriggersPage() {
  const { flowId = '' } = useParams();
  const flow = useFlow(flowId);
  const triggers = useTriggers(flowId);
  const create = useCreateTrigger(flowId);
  const patch = usePatchTrigger(flowId);
  const remove = useDeleteTrigger(flowId);
  const canWrite = useCan('triggers.write');
  const [editing, setEditing] = useState<Trigger | 'new' | null>(null);

  return (
    <section>
      <PageHeader title={`Triggers${flow.data ? ` of ${flow.data.name}` : ''}`}>
        <Link to={`/flows/${flowId}`} className="button">
          Open flow
        </Link>
        {canWrite ? (
          <button
            type="button"
            className="button primary"
            onClick={() => {
              create.reset();
              patch.reset();
              setEditing('new');
            }}
            data-testid="trigger-new"
          >
            New trigger
          </button>
        ) : null}
      </PageHeader>
      <ErrorNote error={triggers.error ?? patch.error ?? remove.error} />
      {triggers.isPending ? <Loading /> : null}
      <ul className="card-list" data-testid="trigger-list">
        {(triggers.data?.items ?? []).map((trigger) => {
          const state = stateOf(trigger);
          return (
            <li
              key={trigger.id}
              className="card"
              data-testid={`trigger-row-${trigger.id}`}
              data-type={trigger.type}
              data-enabled={trigger.enabled}
            >
              <div className="card-head">
                <strong>{trigger.type}</strong>
                <label className="checkbox">
                  <input
                    type="checkbox"
                    checked={trigger.enabled}
                    disabled={!canWrite}
                    onChange={(e) => patch.mutate({ id: trigger.id, enabled: e.target.checked })}
                    data-testid={`trigger-enabled-${trigger.id}`}
                  />
                  {trigger.enabled ? 'enabled' : 'disabled'}
                </label>
                <span className="toolbar-spacer" />
                {canWrite ? (
                  <>
                    <button
                      type="button"
                      className="button small"
                      onClick={() => {
                        patch.reset();
                        setEditing(trigger);
                      }}
                      data-testid={`trigger-edit-${trigger.id}`}
                    >
                      Edit
                    </button>
                    <ConfirmButton
                      label={`Delete this ${trigger.type} trigger`}
                      onConfirm={() => remove.mutate(trigger.id)}
                      testId={`trigger-delete-${trigger.id}`}
                    >
                      Delete
                    </ConfirmButton>
                  </>
                ) : null}
              </div>
              <div className="card-body">{summary(trigger)}</div>
              <dl className="trigger-state">
                <dt>last fired</dt>
                <dd>{formatTime(state.last_fired_at)}</dd>
                <dt>next fire</dt>
                <dd>{formatTime(state.next_fire_at)}</dd>
                <dt>owner</dt>
                <dd>{state.owner ?? '—'}</dd>
              </dl>
              {state.last_error ? (
                <div className="error-note" data-testid={`trigger-error-${trigger.id}`}>
                  Last error: {state.last_error}
                </div>
              ) : null}
            </li>
          );
        })}
        {triggers.data && triggers.data.items.length === 0 ? (
          <li className="muted">No triggers: this flow runs only when started by hand or through the API.</li>
        ) : null}
      </ul>
      {editing ? (
        <Modal
          title={editing === 'new' ? 'New trigger' : `Edit ${editing.type} trigger`}
          onClose={() => setEditing(null)}
          wide
        >
          <TriggerForm
            existing={editing === 'new' ? undefined : editing}
            busy={create.isPending || patch.isPending}
            error={editing === 'new' ? create.error : patch.error}
            onCancel={() => setEditing(null)}
            onSubmit={(type, config, enabled) => {
              const done = { onSuccess: () => setEditing(null) };
              if (editing === 'new') create.mutate({ type, config, enabled }, done);
              else patch.mutate({ id: editing.id, config, enabled }, done);
            }}
          />
        </Modal>
      ) : null}
    </section>
  );
}
