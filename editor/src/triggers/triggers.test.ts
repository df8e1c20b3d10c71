import { describe, expect, it } from 'vitest';
import { previewCron } from './cron';
import { curlCommand, webhookUrl } from './webhook';
import { formUrl, parseFormSchema } from './config';
import { configFrom } from './TriggerForm';

describe('cron preview', () => {
  it('describes the schedule and computes the next fire times in its timezone', () => {
    const preview = previewCron('30 9 * * 1-5', 'UTC', 3, new Date('2026-11-24T10:00:00Z'));
    expect(preview.valid).toBe(true);
    expect(preview.description).toMatch(/09:30/);
    expect(preview.next.map((d) => d.toISOString())).toEqual([
      '2026-11-25T09:30:00.000Z',
      '2026-11-26T09:30:00.000Z',
      '2026-11-27T09:30:00.000Z',
    ]);
  });

  it('honours the timezone', () => {
    const preview = previewCron('0 9 * * *', 'Europe/Paris', 1, new Date('2026-11-24T10:00:00Z'));
    expect(preview.next[0].toISOString()).toBe('2026-11-25T08:00:00.000Z');
  });

  it('accepts six fields with seconds first and refuses other counts', () => {
    expect(previewCron('*/10 * * * * *', 'UTC', 1).valid).toBe(true);
    const bad = previewCron('* * *', 'UTC');
    expect(bad.valid).toBe(false);
    expect(bad.error).toMatch(/5 fields/);
    expect(previewCron('99 * * * *', 'UTC').valid).toBe(false);
  });
});

describe('webhook', () => {
  it('builds the URL under /hooks', () => {
    expect(webhookUrl('https://flo.example/', '/orders/new')).toBe('https://flo.example/hooks/orders/new');
  });

  it('gives a plain curl for a public webhook', () => {
    const command = curlCommand('http://h', { path: 'x', method: 'POST' });
    expect(command).toContain("curl -sS -X POST 'http://h/hooks/x'");
    expect(command).toContain('--data-binary "$BODY"');
    expect(command).not.toContain('SIG');
  });

  it('signs the body for GitHub and Standard Webhooks schemes', () => {
    expect(curlCommand('http://h', { path: 'x', auth: { hmac_secret: 's', hmac_scheme: 'github' } })).toContain(
      'X-Hub-Signature-256: sha256=$SIG',
    );
    const standard = curlCommand('http://h', { path: 'x', auth: { hmac_secret: 's' } });
    expect(standard).toContain('webhook-signature: v1,$SIG');
    expect(standard).toContain('"$ID.$TS.$BODY"');
  });
});

describe('form trigger config', () => {
  it('builds the page URL and the config the API expects', () => {
    expect(formUrl('http://api.test/', '/contact/us')).toBe('http://api.test/forms/contact/us');
    const config = configFrom('form', {
      path: '/contact',
      title: 'Contact',
      description: '',
      schema: '{"type": "object", "properties": {"name": {"type": "string"}}}',
      respond: 'async',
      sync_timeout_s: '30',
    });
    expect(config).toEqual({
      path: 'contact',
      title: 'Contact',
      schema: { type: 'object', properties: { name: { type: 'string' } } },
      respond: 'async',
    });
  });

  it('sends a schema that is not JSON as text, for the API to refuse with its reason', () => {
    expect(parseFormSchema('{not json')).toBe('{not json');
    expect(parseFormSchema('[1]')).toBe('[1]');
  });
});
