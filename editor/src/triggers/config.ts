/**
 * The webhook trigger's config, as the triggers domain checks it (docs/triggers.md). The
 * OpenAPI document gives a trigger's `config` as an object, so its shape is spelled out here.
 */

export type WebhookConfig = {
  path: string;
  method?: string;
  auth?: { hmac_secret?: string; hmac_scheme?: 'standard-webhooks' | 'github'; token?: string };
  respond?: 'async' | 'sync';
  sync_timeout_s?: number;
};
