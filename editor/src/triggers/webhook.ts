import type { WebhookConfig } from './config';

/** Where a webhook trigger listens: `<origin>/hooks/<path>`. */
export function webhookUrl(origin: string, path: string): string {
  const clean = path.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/');
  return `${origin.replace(/\/+$/, '')}/hooks/${clean}`;
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * A curl command that fires the webhook as configured, signing the body when the trigger
 * checks an HMAC (the secret's value goes in $SECRET; a token in $TOKEN).
 */
export function curlCommand(origin: string, config: WebhookConfig, body = '{"hello": "world"}'): string {
  const url = webhookUrl(origin, config.path);
  const method = (config.method ?? 'POST').toUpperCase();
  const lines: string[] = [];
  const sendsBody = method !== 'GET' && method !== 'HEAD';
  const args = [`curl -sS -X ${method} ${quote(url)}`];
  if (sendsBody) {
    lines.push(`BODY=${quote(body)}`);
    args.push(`-H 'Content-Type: application/json'`);
  }
  const auth = config.auth ?? {};
  if (auth.token) args.push(`-H "Authorization: Bearer $TOKEN"`);
  if (auth.hmac_secret && sendsBody) {
    if (auth.hmac_scheme === 'github') {
      lines.push(`SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')`);
      args.push(`-H "X-Hub-Signature-256: sha256=$SIG"`);
    } else {
      lines.push(`ID=msg_$(date +%s%N)`, `TS=$(date +%s)`);
      lines.push(`SIG=$(printf '%s' "$ID.$TS.$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64)`);
      args.push(`-H "webhook-id: $ID"`, `-H "webhook-timestamp: $TS"`, `-H "webhook-signature: v1,$SIG"`);
    }
  }
  if (sendsBody) args.push(`--data-binary "$BODY"`);
  lines.push(args.join(' \\\n  '));
  return lines.join('\n');
}
