import { useMemo, useState, type FormEvent } from 'react';
import type { JsonObject } from '../flow/format';
import type { Trigger, TriggerType } from '../api/models';
import { EXAMPLE_FORM_SCHEMA, formUrl, parseFormSchema, type WebhookConfig } from './config';
import { useSecrets } from '../api/hooks';
import { apiPublicOrigin } from '../api/instance';
import { ErrorNote, CopyButton } from '../components/ui';
import { formatInZone, previewCron } from './cron';
import { curlCommand, webhookUrl } from './webhook';

type Fields = Record<string, string>;

const DEFAULTS: Record<TriggerType, Fields> = {
  schedule: { cron: '0 * * * *', timezone: 'UTC', catch_up: 'none', overlap: 'allow' },
  webhook: {
    path: '',
    method: 'POST',
    respond: 'async',
    sync_timeout_s: '30',
    hmac_secret: '',
    hmac_scheme: 'standard-webhooks',
    token: '',
  },
  s3: { bucket: '', prefix: '', endpoint_url: '', region: '', credentials: '', interval_s: '60' },
  git: { url: '', branch: 'main', credentials: '', interval_s: '60' },
  form: {
    path: '',
    title: 'Form',
    description: '',
    schema: EXAMPLE_FORM_SCHEMA,
    respond: 'async',
    sync_timeout_s: '30',
  },
  // Event triggers: a connection by name (of type amqp, redis or postgres) and what to consume.
  amqp: { connection: '', queue: '', prefetch: '10', alert_after_s: '' },
  redis_stream: { connection: '', stream: '', group: 'flomation', alert_after_s: '' },
  postgres_notify: { connection: '', channel: '', alert_after_s: '' },
  nats: { connection: '', stream: '', subject: '', durable: '', ack_wait_s: '30', alert_after_s: '' },
  mqtt: { connection: '', topic: '', qos: '1', alert_after_s: '' },
};

function fieldsFrom(trigger: Trigger): Fields {
  const config = trigger.config as Record<string, unknown>;
  const out: Fields = { ...DEFAULTS[trigger.type] };
  for (const [key, value] of Object.entries(config)) {
    if (key === 'auth' && value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) out[k] = String(v ?? '');
    } else if (value && typeof value === 'object') out[key] = JSON.stringify(value, null, 2);
    else if (value !== null && value !== undefined) out[key] = String(value);
  }
  return out;
}

/** The config the API expects, from the form's text fields (empty optional fields left out). */
export function configFrom(type: TriggerType, f: Fields): JsonObject {
  const opt = (value: string | undefined) => (value && value.trim() ? value.trim() : undefined);
  const num = (value: string | undefined, fallback: number) =>
    value && Number.isFinite(Number(value)) ? Number(value) : fallback;
  const clean = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as JsonObject;
  // Event triggers' dead-man's switch: empty means none.
  const alert = opt(f.alert_after_s) ? num(f.alert_after_s, 0) : undefined;
  switch (type) {
    case 'schedule':
      return clean({
        cron: f.cron.trim(),
        timezone: opt(f.timezone) ?? 'UTC',
        catch_up: f.catch_up,
        overlap: f.overlap,
      });
    case 'webhook': {
      const auth = clean({
        hmac_secret: opt(f.hmac_secret),
        hmac_scheme: opt(f.hmac_secret) ? f.hmac_scheme : undefined,
        token: opt(f.token),
      });
      return clean({
        path: f.path.trim().replace(/^\/+/, ''),
        method: f.method,
        auth: Object.keys(auth).length ? auth : undefined,
        respond: f.respond,
        sync_timeout_s: f.respond === 'sync' ? num(f.sync_timeout_s, 30) : undefined,
      });
    }
    case 's3':
      return clean({
        bucket: f.bucket.trim(),
        prefix: f.prefix ?? '',
        endpoint_url: opt(f.endpoint_url),
        region: opt(f.region),
        credentials: opt(f.credentials),
        interval_s: num(f.interval_s, 60),
      });
    case 'git':
      return clean({
        url: f.url.trim(),
        branch: f.branch.trim() || 'main',
        credentials: opt(f.credentials),
        interval_s: num(f.interval_s, 60),
      });
    case 'amqp':
      return clean({
        connection: f.connection.trim(),
        queue: f.queue.trim(),
        prefetch: num(f.prefetch, 10),
        alert_after_s: alert,
      });
    case 'redis_stream':
      return clean({
        connection: f.connection.trim(),
        stream: f.stream.trim(),
        group: opt(f.group),
        alert_after_s: alert,
      });
    case 'postgres_notify':
      return clean({ connection: f.connection.trim(), channel: f.channel.trim(), alert_after_s: alert });
    case 'mqtt':
      return clean({
        connection: f.connection.trim(),
        topic: f.topic.trim(),
        qos: num(f.qos, 1),
        alert_after_s: alert,
      });
    case 'nats':
      return clean({
        connection: f.connection.trim(),
        stream: f.stream.trim(),
        subject: f.subject.trim(),
        durable: opt(f.durable),
        ack_wait_s: num(f.ack_wait_s, 30),
        alert_after_s: alert,
      });
    case 'form':
      return clean({
        path: f.path.trim().replace(/^\/+/, ''),
        title: opt(f.title),
        description: opt(f.description),
        schema: parseFormSchema(f.schema ?? ''),
        respond: f.respond,
        sync_timeout_s: f.respond === 'sync' ? num(f.sync_timeout_s, 30) : undefined,
      });
    default:
      return clean({ ...f });
  }
}

/** A form trigger's public page, with a button to copy its URL. */
export function FormLink({ path, testId }: { path: string; testId: string }) {
  const url = formUrl(apiPublicOrigin(), path.replace(/^\/?forms\//, ''));
  return (
    <div className="copy-row">
      <a href={url} target="_blank" rel="noreferrer" data-testid={testId}>
        {url}
      </a>
      <CopyButton text={url} label="Copy URL" />
      <span className="badge badge-failed">public</span>
    </div>
  );
}

function SecretSelect({
  value,
  onChange,
  label,
  testId,
}: {
  value: string;
  onChange: (v: string) => void;
  label: string;
  testId: string;
}) {
  const secrets = useSecrets();
  return (
    <label>
      {label}
      <input
        list="secret-names"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder="secret name (optional)"
        data-testid={testId}
      />
      <datalist id="secret-names">
        {(secrets.data?.items ?? []).map((s) => (
          <option key={s.name} value={s.name} />
        ))}
      </datalist>
    </label>
  );
}

export function CronPreviewView({ cron, timezone }: { cron: string; timezone: string }) {
  const preview = useMemo(() => previewCron(cron, timezone), [cron, timezone]);
  if (!preview.valid)
    return (
      <p className="field-error" data-testid="cron-error">
        {preview.error}
      </p>
    );
  return (
    <div className="cron-preview" data-testid="cron-preview">
      <strong>{preview.description}</strong> <span className="muted">({timezone || 'UTC'})</span>
      <ul data-testid="cron-next">
        {preview.next.map((date) => (
          <li key={date.toISOString()}>{formatInZone(date, timezone)}</li>
        ))}
      </ul>
    </div>
  );
}

export function WebhookCommand({
  config,
  testId,
  hookPath,
}: {
  config: WebhookConfig;
  testId: string;
  hookPath?: string | null;
}) {
  const origin = apiPublicOrigin();
  // The API says where the hook listens when it can; else it is /hooks/<path>.
  const effective = hookPath ? { ...config, path: hookPath.replace(/^\/?hooks\//, '') } : config;
  const command = curlCommand(origin, effective);
  return (
    <div className="webhook-info">
      <div className="copy-row">
        <code data-testid={`${testId}-url`}>{webhookUrl(origin, effective.path)}</code>
        <CopyButton text={webhookUrl(origin, effective.path)} label="Copy URL" />
        {!config.auth || (!config.auth.hmac_secret && !config.auth.token) ? (
          <span className="badge badge-failed">public</span>
        ) : null}
      </div>
      <pre className="command" data-testid={testId}>
        {command}
      </pre>
      <CopyButton text={command} label="Copy curl" />
    </div>
  );
}

/** Create or edit a trigger: schedule, webhook, s3, git, form, or an event trigger. */
export function TriggerForm({
  existing,
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  existing?: Trigger;
  busy: boolean;
  error: unknown;
  onSubmit: (type: TriggerType, config: JsonObject, enabled: boolean) => void;
  onCancel: () => void;
}) {
  const [type, setType] = useState<TriggerType>(existing?.type ?? 'schedule');
  const [fields, setFields] = useState<Fields>(() => (existing ? fieldsFrom(existing) : DEFAULTS.schedule));
  const [enabled, setEnabled] = useState(existing?.enabled ?? true);
  const set = (name: string) => (value: string) => setFields((f) => ({ ...f, [name]: value }));
  const input = (
    name: string,
    label: string,
    props: { required?: boolean; placeholder?: string; type?: string } = {},
  ) => (
    <label>
      {label}
      <input
        value={fields[name] ?? ''}
        onChange={(e) => set(name)(e.target.value)}
        data-testid={`trigger-${name}`}
        {...props}
      />
    </label>
  );
  const select = (name: string, label: string, options: string[]) => (
    <label>
      {label}
      <select
        value={fields[name] ?? options[0]}
        onChange={(e) => set(name)(e.target.value)}
        data-testid={`trigger-${name}`}
      >
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(type, configFrom(type, fields), enabled);
  };
  return (
    <form
      className="form trigger-form"
      onSubmit={submit}
      data-testid="trigger-form"
      aria-label={existing ? 'Edit trigger' : 'New trigger'}
    >
      <label>
        Type
        <select
          value={type}
          disabled={!!existing}
          onChange={(e) => {
            const next = e.target.value as TriggerType;
            setType(next);
            setFields(DEFAULTS[next]);
          }}
          data-testid="trigger-type"
        >
          <option value="schedule">schedule</option>
          <option value="webhook">webhook</option>
          <option value="s3">s3</option>
          <option value="git">git</option>
          <option value="form">form</option>
          <option value="amqp">amqp (RabbitMQ queue)</option>
          <option value="redis_stream">redis_stream</option>
          <option value="postgres_notify">postgres_notify</option>
          <option value="nats">nats (JetStream)</option>
          <option value="mqtt">mqtt</option>
        </select>
      </label>
      {type === 'schedule' ? (
        <>
          {input('cron', 'Cron (5 fields, or 6 with seconds first)', { required: true })}
          {input('timezone', 'Timezone (IANA, e.g. Europe/Paris)')}
          <CronPreviewView cron={fields.cron ?? ''} timezone={fields.timezone ?? 'UTC'} />
          <div className="grid-2">
            {select('catch_up', 'Catch up missed runs', ['none', 'one', 'all'])}
            {select('overlap', 'When the previous run still runs', ['allow', 'skip', 'queue'])}
          </div>
        </>
      ) : null}
      {type === 'webhook' ? (
        <>
          {input('path', 'Path', { required: true, placeholder: 'orders/new' })}
          <div className="grid-2">
            {select('method', 'Method', ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'])}
            {select('respond', 'Respond', ['async', 'sync'])}
          </div>
          {fields.respond === 'sync' ? input('sync_timeout_s', 'Sync timeout (s)', { type: 'number' }) : null}
          <div className="grid-2">
            <SecretSelect
              label="HMAC secret"
              value={fields.hmac_secret ?? ''}
              onChange={set('hmac_secret')}
              testId="trigger-hmac_secret"
            />
            {select('hmac_scheme', 'HMAC scheme', ['standard-webhooks', 'github'])}
          </div>
          <SecretSelect
            label="Token secret"
            value={fields.token ?? ''}
            onChange={set('token')}
            testId="trigger-token"
          />
          {fields.path ? (
            <WebhookCommand
              config={configFrom('webhook', fields) as unknown as WebhookConfig}
              testId="trigger-form-curl"
            />
          ) : null}
        </>
      ) : null}
      {type === 's3' ? (
        <>
          <div className="grid-2">
            {input('bucket', 'Bucket', { required: true })}
            {input('prefix', 'Prefix')}
            {input('endpoint_url', 'Endpoint URL (S3-compatible stores)')}
            {input('region', 'Region')}
          </div>
          <SecretSelect
            label="Credentials secret"
            value={fields.credentials ?? ''}
            onChange={set('credentials')}
            testId="trigger-credentials"
          />
          {input('interval_s', 'Poll every (s)', { type: 'number' })}
        </>
      ) : null}
      {type === 'git' ? (
        <>
          {input('url', 'Repository URL', { required: true })}
          {input('branch', 'Branch')}
          <SecretSelect
            label="Credentials secret"
            value={fields.credentials ?? ''}
            onChange={set('credentials')}
            testId="trigger-credentials"
          />
          {input('interval_s', 'Poll every (s)', { type: 'number' })}
        </>
      ) : null}
      {type === 'form' ? (
        <>
          {input('path', 'Path', { required: true, placeholder: 'contact' })}
          {input('title', 'Title')}
          {input('description', 'Description')}
          <label>
            Fields (JSON schema: an object with properties of type string, number, integer, boolean, or an enum)
            <textarea
              rows={10}
              value={fields.schema ?? ''}
              onChange={(e) => set('schema')(e.target.value)}
              data-testid="trigger-schema"
              spellCheck={false}
            />
          </label>
          <div className="grid-2">
            {select('respond', 'Respond', ['async', 'sync'])}
            {fields.respond === 'sync' ? input('sync_timeout_s', 'Sync timeout (s)', { type: 'number' }) : null}
          </div>
          {fields.path ? <FormLink path={fields.path.trim()} testId="trigger-form-url" /> : null}
        </>
      ) : null}
      {type === 'amqp' ? (
        <div className="grid-2">
          {input('connection', 'Connection (amqp)', { required: true })}
          {input('queue', 'Queue', { required: true })}
          {input('prefetch', 'Prefetch', { type: 'number' })}
        </div>
      ) : null}
      {type === 'redis_stream' ? (
        <div className="grid-2">
          {input('connection', 'Connection (redis)', { required: true })}
          {input('stream', 'Stream', { required: true })}
          {input('group', 'Consumer group')}
        </div>
      ) : null}
      {type === 'postgres_notify' ? (
        <div className="grid-2">
          {input('connection', 'Connection (postgres)', { required: true })}
          {input('channel', 'Channel', { required: true })}
        </div>
      ) : null}
      {type === 'mqtt' ? (
        <div className="grid-2">
          {input('connection', 'Connection (mqtt)', { required: true })}
          {input('topic', 'Topic (wildcards + and # allowed)', { required: true })}
          {select('qos', 'QoS', ['1', '2'])}
        </div>
      ) : null}
      {type === 'nats' ? (
        <div className="grid-2">
          {input('connection', 'Connection (nats)', { required: true })}
          {input('stream', 'Stream', { required: true })}
          {input('subject', 'Subject', { required: true, placeholder: 'orders.>' })}
          {input('durable', 'Durable consumer (default: per trigger)')}
          {input('ack_wait_s', 'Ack wait (s)', { type: 'number' })}
        </div>
      ) : null}
      {type === 'amqp' || type === 'redis_stream' || type === 'postgres_notify' || type === 'nats' || type === 'mqtt'
        ? input('alert_after_s', 'Alert when silent or failing for (s, optional)', { type: 'number' })
        : null}
      <label className="checkbox">
        <input
          type="checkbox"
          checked={enabled}
          onChange={(e) => setEnabled(e.target.checked)}
          data-testid="trigger-enabled"
        />{' '}
        Enabled
      </label>
      <ErrorNote error={error} />
      <div className="form-actions">
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={busy} data-testid="trigger-submit">
          {existing ? 'Save trigger' : 'Create trigger'}
        </button>
      </div>
    </form>
  );
}
