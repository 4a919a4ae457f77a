import type { MqttOptions } from '../backend.js';
import { hostOf } from './backend-tls.js';

/** True for an address that never leaves the machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host.endsWith('.localhost');
}

function plainToRemote(url: string | undefined, plainSchemes: RegExp): string | null {
  if (!url) return null;
  const host = hostOf(url);
  if (!plainSchemes.test(url) || host === null || isLoopback(host)) return null;
  return url;
}

/**
 * What would carry API keys, the admin token or MQTT passwords in clear beyond this machine:
 * a listener on a non-loopback interface without TLS, or a public URL (what panels are told)
 * with http://, mqtt:// or ws:// to a non-loopback host. A loopback listener behind a proxy
 * that terminates TLS (public URL https://) is fine. Empty when nothing is exposed.
 */
export function insecureTransportProblems(options: { tls: boolean; host: string; publicUrl?: string; mqtt: MqttOptions }): string[] {
  const problems: string[] = [];
  const { tls, host, mqtt } = options;
  const listensOutside = !isLoopback(host);
  if (!tls && listensOutside) problems.push(`the API listens on ${host} over plain HTTP`);
  const api = plainToRemote(options.publicUrl, /^http:/i);
  if (api) problems.push(`panels are told to use ${api} (plain HTTP)`);
  if (mqtt.mode === 'embedded') {
    if (!tls && !isLoopback(mqtt.host ?? host)) problems.push(`the embedded MQTT broker listens on ${mqtt.host ?? host} without TLS`);
    const broker = plainToRemote(mqtt.publicUrl, /^(mqtt|ws):/i);
    if (broker) problems.push(`panels are told to use ${broker} (MQTT without TLS)`);
  } else if (mqtt.mode === 'external') {
    const backendLink = plainToRemote(mqtt.url, /^(mqtt|ws):/i);
    if (backendLink) problems.push(`the backend joins ${backendLink} without TLS (its broker password crosses in clear)`);
    const broker = plainToRemote(mqtt.publicUrl ?? mqtt.url, /^(mqtt|ws):/i);
    if (broker) problems.push(`panels are told to use ${broker} (MQTT without TLS)`);
  }
  return problems;
}
