import { z } from 'zod';
import { Identifier, IsoDateTime } from './primitives.js';

/**
 * Alerts on the fleet: a panel offline, stale, in maintenance or lagging behind its current
 * revision for longer than the threshold of that kind raises one alert, cleared when the
 * condition ends. Each raise and clear is shown in the backoffice and POSTed to the webhook.
 */
export const ALERT_KINDS = ['offline', 'stale', 'maintenance', 'lagging'] as const;
export const AlertKind = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof AlertKind>;

export const Alert = z.object({
  /** `alert-<n>`, increasing: a later alert has a larger number. */
  id: z.string().regex(/^alert-[0-9]{1,15}$/),
  panelId: Identifier,
  kind: AlertKind,
  /** When the condition began (as far as the backend knows: not before it started). */
  since: IsoDateTime,
  /** When the condition had lasted its threshold and the alert was raised. */
  raisedAt: IsoDateTime,
  /** When the condition ended (or the panel was deleted); null while the alert is active. */
  clearedAt: IsoDateTime.nullable(),
  /** What the backend saw, in words: "last seen 2026-12-02T17:00:00Z", "displays revision 4 of 7". */
  detail: z.string().max(500),
});
export type Alert = z.infer<typeof Alert>;

/** `GET /alerts`: the active alerts, and the most recently cleared ones, newest first. */
export const AlertList = z.object({ active: z.array(Alert), recent: z.array(Alert) });
export type AlertList = z.infer<typeof AlertList>;

/** From ten seconds to a week: shorter would alert on a panel's ordinary reconnection. */
export const AlertThresholdSeconds = z
  .number()
  .int()
  .min(10)
  .max(7 * 86_400);

export const AlertThresholds = z.strictObject({
  offline: AlertThresholdSeconds,
  stale: AlertThresholdSeconds,
  maintenance: AlertThresholdSeconds,
  lagging: AlertThresholdSeconds,
});
export type AlertThresholds = z.infer<typeof AlertThresholds>;

/** Where alerts are POSTed: an http(s) URL without credentials in it (send a secret instead). */
export const WebhookUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((url) => !/^[a-z]+:\/\/[^/]*@/i.test(url), 'no user name or password in the URL');

/** Signs each delivery (HMAC-SHA256, header `x-airpanel-signature`); at least 16 characters. */
export const WebhookSecret = z.string().min(16).max(256);

/**
 * The settings as an admin writes them (`PUT /alert-settings`). `webhook.secret`: a string sets
 * it, null removes it, absent keeps the one stored.
 */
export const AlertSettingsBody = z.strictObject({
  thresholds: AlertThresholds,
  webhook: z.strictObject({ url: WebhookUrl.nullable(), secret: WebhookSecret.nullable().optional() }),
});
export type AlertSettingsBody = z.infer<typeof AlertSettingsBody>;

/** The settings as they are read: the secret is never given back, only whether one is set. */
export const AlertSettings = z.object({
  thresholds: AlertThresholds,
  webhook: z.object({ url: WebhookUrl.nullable(), hasSecret: z.boolean() }),
});
export type AlertSettings = z.infer<typeof AlertSettings>;

export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = { offline: 300, stale: 900, maintenance: 1800, lagging: 600 };

/** Webhook request headers: the delivery's id, its time (epoch seconds) and the signature. */
export const WEBHOOK_HEADERS = {
  delivery: 'x-airpanel-delivery',
  timestamp: 'x-airpanel-timestamp',
  /** `sha256=<hex>`: HMAC-SHA256 with the secret over `<timestamp>.<body>`; absent without a secret. */
  signature: 'x-airpanel-signature',
} as const;

/** The JSON body of each webhook POST. The same delivery id is sent again on every retry. */
export const AlertWebhookPayload = z.object({
  event: z.enum(['alert.raised', 'alert.cleared']),
  alert: Alert,
  /** The panel's name, for a message that needs no look-up. */
  panelName: z.string().max(120).nullable(),
  sentAt: IsoDateTime,
});
export type AlertWebhookPayload = z.infer<typeof AlertWebhookPayload>;
