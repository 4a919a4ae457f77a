import { isIP } from 'node:net';
import type { PanelEndpoints } from '@airpanel/contract';

/** Schemes that carry the API key or the MQTT password in clear. */
const PLAIN_SCHEMES = new Set(['http:', 'mqtt:', 'ws:']);

/**
 * True for names and addresses that never leave the machine: `localhost` (and `*.localhost`),
 * 127.0.0.0/8, ::1. A plain endpoint there crosses no network (development, tests, a local
 * proxy that terminates TLS).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(host);
  return false;
}

/** The endpoints of panel.json that would send credentials in clear over a network. */
export function plainEndpointsOffLoopback(
  endpoints: Pick<PanelEndpoints, 'apiBaseUrl' | 'mqttUrl'>,
): { field: 'endpoints.apiBaseUrl' | 'endpoints.mqttUrl'; url: string }[] {
  const found: { field: 'endpoints.apiBaseUrl' | 'endpoints.mqttUrl'; url: string }[] = [];
  const check = (field: 'endpoints.apiBaseUrl' | 'endpoints.mqttUrl', value: string | null) => {
    if (!value) return;
    const url = new URL(value);
    if (PLAIN_SCHEMES.has(url.protocol) && !isLoopbackHost(url.hostname)) found.push({ field, url: `${url.protocol}//${url.host}` });
  };
  check('endpoints.apiBaseUrl', endpoints.apiBaseUrl);
  check('endpoints.mqttUrl', endpoints.mqttUrl);
  return found;
}
