import { X509Certificate } from 'node:crypto';
import { readFile, chown } from 'node:fs/promises';
import { PanelConfig } from '@airpanel/contract';
import { ProvisionError } from './errors.js';

/** File names inside the panel's data dir (`/data/airpanel` on a panel). */
export const PANEL_JSON = 'panel.json';
/** The one CA the panel trusts for every connection (panel.json `caFile`). */
export const CA_FILE = 'ca.pem';
/** The panel's client certificate and key (mTLS; panel.json `clientCertFile`, `clientKeyFile`). */
export const CLIENT_CERT_FILE = 'client.pem';
export const CLIENT_KEY_FILE = 'client.key';

/** True when a panel.json trust field holds the PEM text itself rather than a path. */
export function isInlinePem(value: string | null): boolean {
  return value !== null && value.trimStart().startsWith('-----BEGIN');
}
/** The panel's data dir as the firmware sees it (the data partition is mounted at /data). */
export const PANEL_DATA_DIR = '/data/airpanel';

/** Formats the zod issues of a failed parse as "path: message; …". */
export function describeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 6)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Parses and validates panel.json bytes; `where` names the source in errors. */
export function parsePanelConfig(bytes: Buffer | string, where: string): PanelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString());
  } catch (e) {
    throw new ProvisionError(`${where} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = PanelConfig.safeParse(raw);
  if (!parsed.success) throw new ProvisionError(`${where} is not a valid panel.json: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The exact bytes written as panel.json: validated, defaults filled, stable formatting. */
export function serializePanelConfig(config: PanelConfig): Buffer {
  return Buffer.from(`${JSON.stringify(PanelConfig.parse(config), null, 2)}\n`);
}

/** Checks that a file holds one PEM certificate (the broker's CA) and returns it normalized. */
export function parseCaPem(bytes: Buffer, where: string): Buffer {
  const text = bytes.toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks || blocks.length === 0) throw new ProvisionError(`${where} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      const cert = new X509Certificate(block);
      if (!cert.ca) throw new ProvisionError(`${where}: ${cert.subject.replace(/\n/g, ', ')} is not a CA certificate`);
    } catch (e) {
      if (e instanceof ProvisionError) throw e;
      throw new ProvisionError(`${where} is not a valid certificate: ${(e as Error).message}`);
    }
  }
  return Buffer.from(`${blocks.join('\n')}\n`);
}

export interface Owner {
  uid: number;
  gid: number;
}

/** Reads a file or returns null when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** chown that reports a clear error (only root may give files away). */
export async function chownOrExplain(path: string, owner: Owner): Promise<void> {
  try {
    await chown(path, owner.uid, owner.gid);
  } catch (e) {
    throw new ProvisionError(`cannot give ${path} to uid ${owner.uid}: ${(e as Error).message} (run as root or omit --owner)`);
  }
}

/** What a technician sticks on the panel: id, name, location, and where it reports to. */
export function panelLabel(config: PanelConfig): string {
  const loc = config.location;
  const coords =
    loc && loc.latitude !== undefined && loc.longitude !== undefined ? ` (${loc.latitude.toFixed(5)}, ${loc.longitude.toFixed(5)})` : '';
  const rows: [string, string][] = [
    ['panel id', config.panelId],
    ['name', config.name],
    ['location', loc ? `${loc.description}${coords}` : '-'],
    ['backend', config.endpoints.apiBaseUrl],
  ];
  const lines = rows.map(([k, v]) => `${k.padEnd(9)} ${v}`);
  const width = Math.max(...lines.map((l) => l.length), 'AIRPANEL'.length);
  const bar = `+${'-'.repeat(width + 2)}+`;
  return [bar, `| ${'AIRPANEL'.padEnd(width)} |`, bar, ...lines.map((l) => `| ${l.padEnd(width)} |`), bar].join('\n');
}

function shownFile(value: string | null): string {
  if (value === null) return '-';
  return isInlinePem(value) ? '(PEM inside panel.json, written to a file at injection)' : value;
}

/** One-line description of a panel config with the API key masked. */
export function describeConfig(config: PanelConfig): string[] {
  const key = config.apiKey;
  return [
    `panel id:   ${config.panelId}`,
    `name:       ${config.name}`,
    `location:   ${config.location ? config.location.description : '-'}`,
    `api:        ${config.endpoints.apiBaseUrl}`,
    `mqtt:       ${config.endpoints.mqttUrl ?? '- (HTTP polling only)'}`,
    `CA:         ${shownFile(config.caFile ?? config.mqttCaFile)}`,
    `client cert: ${config.clientCertFile ? `${shownFile(config.clientCertFile)} (key ${shownFile(config.clientKeyFile)})` : '- (API key only)'}`,
    `channel:    ${config.updateChannel} (OTA updates)`,
    `sensor:     ${!config.sensor ? '-' : config.sensor.kind === 'airrohr' ? `airrohr ${config.sensor.url}` : `${config.sensor.kind} ${config.sensor.device}`}`,
    `api key:    ${key.slice(0, 4)}…${key.slice(-4)} (${key.length} characters)`,
  ];
}
