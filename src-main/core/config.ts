import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { PanelConfig } from '@airpanel/contract';
import { dataDirPaths } from './data-dir.js';
import { plainEndpointsOffLoopback } from './transport/plain-endpoints.js';
import { loadTrustStore, type TrustStore } from './transport/trust-store.js';

/**
 * Maintenance codes of a bad `panel.json` (also in README.md, "Maintenance codes"):
 *
 * | code  | meaning                                                  |
 * |-------|----------------------------------------------------------|
 * | CFG-1 | panel.json is missing                                    |
 * | CFG-2 | panel.json is not JSON (truncated, edited by hand…)     |
 * | CFG-3 | panel.json is JSON but a field is invalid or missing     |
 * | CFG-4 | panel.json exists but cannot be read (permissions, I/O)  |
 * | CFG-5 | `sensor` is invalid: the panel runs without its own sensor |
 * | CFG-6 | a plain endpoint (http://, mqtt://, ws://) to a host other than loopback, |
 * |       | without `allowInsecureTransport: true`                    |
 * | CFG-7 | the CA or client certificate/key panel.json names cannot be used |
 */
export const CONFIG_FAULT_CODES = {
  missing: 'CFG-1',
  unparseable: 'CFG-2',
  invalidField: 'CFG-3',
  unreadable: 'CFG-4',
  plainTransport: 'CFG-6',
  trustFiles: 'CFG-7',
} as const;

/** Not a fault of the whole file: the panel runs without its own sensor (README). */
export const SENSOR_SETTINGS_FAULT_CODE = 'CFG-5';
export type ConfigFaultCode = (typeof CONFIG_FAULT_CODES)[keyof typeof CONFIG_FAULT_CODES];

export interface ConfigFault {
  ok: false;
  code: ConfigFaultCode;
  path: string;
  /** One line a technician can act on, naming the field when one is wrong. */
  detail: string;
  /** For CFG-3, CFG-6, CFG-7: each wrong field as a dotted path with its problem. */
  fields: { path: string; message: string }[];
}

/** panel.json checked on its own, before the files it names are read. */
export type ConfigValidation =
  | {
      ok: true;
      config: PanelConfig;
      path: string;
      /** Set when `sensor` was invalid and dropped (config.sensor is then null). */
      sensorFault?: { code: typeof SENSOR_SETTINGS_FAULT_CODE; detail: string } | undefined;
    }
  | ConfigFault;

/**
 * A usable panel.json with the trust store its files make, or the fault a technician sees.
 * `trust` is always set by `loadPanelConfig`; a result built by hand (tests) may leave it out:
 * the core then uses the system's roots.
 */
export type ConfigLoadResult = (Extract<ConfigValidation, { ok: true }> & { trust?: TrustStore | undefined }) | ConfigFault;

/** `endpoints.mqttUrl`, `location.latitude`, `(root)` for a top-level type error. */
function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
}

/**
 * Validates a parsed panel.json; used at boot and by tools that write one. Plain endpoints
 * off loopback are refused (CFG-6) unless `allowInsecureTransport` is true: the API key and
 * the MQTT password would cross the street's network in clear.
 */
export function validatePanelConfig(raw: unknown, path: string): ConfigValidation {
  const result = validateFields(raw, path);
  if (!result.ok || result.config.allowInsecureTransport) return result;
  const plain = plainEndpointsOffLoopback(result.config.endpoints);
  if (plain.length === 0) return result;
  const fields = plain.map((p) => ({ path: p.field, message: `${p.url} is not encrypted` }));
  const detail = `plain endpoint${plain.length > 1 ? 's' : ''} in ${path}: ${plain.map((p) => `${p.field} ${p.url}`).join(', ')}; use https:// and mqtts:// (or set allowInsecureTransport: true on a closed network)`;
  return { ok: false, code: CONFIG_FAULT_CODES.plainTransport, path, detail, fields };
}

function validateFields(raw: unknown, path: string): ConfigValidation {
  const parsed = PanelConfig.safeParse(raw);
  if (parsed.success) return { ok: true, config: parsed.data, path };
  // Only the sensor settings wrong: a panel without its sensor still shows the backend's content.
  if (parsed.error.issues.every((i) => i.path[0] === 'sensor') && typeof raw === 'object' && raw !== null) {
    const withoutSensor = PanelConfig.safeParse({ ...raw, sensor: null });
    if (withoutSensor.success) {
      const problems = parsed.error.issues.map((i) => `${issuePath(i)}: ${i.message}`).join('; ');
      return {
        ok: true,
        config: withoutSensor.data,
        path,
        sensorFault: { code: SENSOR_SETTINGS_FAULT_CODE, detail: `invalid sensor settings in ${path}: ${problems}`.slice(0, 900) },
      };
    }
  }
  const fields = parsed.error.issues.map((issue) => ({ path: issuePath(issue), message: issue.message }));
  const detail = `invalid field${fields.length > 1 ? 's' : ''} in ${path}: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`;
  return { ok: false, code: CONFIG_FAULT_CODES.invalidField, path, detail: detail.slice(0, 900), fields };
}

/**
 * Reads and validates `<dataDir>/panel.json`. Never throws: a panel with a bad config must
 * still come up and show the maintenance code (or its cached content).
 */
export async function loadPanelConfig(dataDir: string): Promise<ConfigLoadResult> {
  const path = dataDirPaths(dataDir).config;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return { ok: false, code: CONFIG_FAULT_CODES.missing, path, detail: `${path} does not exist`, fields: [] };
    }
    return { ok: false, code: CONFIG_FAULT_CODES.unreadable, path, detail: `${path} cannot be read: ${code ?? String(err)}`, fields: [] };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      code: CONFIG_FAULT_CODES.unparseable,
      path,
      detail: `${path} is not valid JSON: ${(err as Error).message}`,
      fields: [],
    };
  }
  const validated = validatePanelConfig(raw, path);
  if (!validated.ok) return validated;
  const trust = await loadTrustStore(validated.config, dataDir);
  if (!trust.ok) {
    return {
      ok: false,
      code: CONFIG_FAULT_CODES.trustFiles,
      path,
      detail: trust.detail.slice(0, 900),
      fields: [{ path: trust.field, message: trust.detail.slice(0, 300) }],
    };
  }
  return { ...validated, trust: trust.trust };
}
