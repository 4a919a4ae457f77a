import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { PanelConfig } from '@airpanel/contract';
import { dataDirPaths } from './data-dir.js';

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
 */
export const CONFIG_FAULT_CODES = {
  missing: 'CFG-1',
  unparseable: 'CFG-2',
  invalidField: 'CFG-3',
  unreadable: 'CFG-4',
} as const;

/** Not a fault of the whole file: the panel runs without its own sensor (README). */
export const SENSOR_SETTINGS_FAULT_CODE = 'CFG-5';
export type ConfigFaultCode = (typeof CONFIG_FAULT_CODES)[keyof typeof CONFIG_FAULT_CODES];

export type ConfigLoadResult =
  | {
      ok: true;
      config: PanelConfig;
      path: string;
      /** Set when `sensor` was invalid and dropped (config.sensor is then null). */
      sensorFault?: { code: typeof SENSOR_SETTINGS_FAULT_CODE; detail: string } | undefined;
    }
  | {
      ok: false;
      code: ConfigFaultCode;
      path: string;
      /** One line a technician can act on, naming the field when one is wrong. */
      detail: string;
      /** For CFG-3: each wrong field as a dotted path with its problem. */
      fields: { path: string; message: string }[];
    };

/** `endpoints.mqttUrl`, `location.latitude`, `(root)` for a top-level type error. */
function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
}

/** Validates a parsed panel.json; used at boot and by tools that write one. */
export function validatePanelConfig(raw: unknown, path: string): ConfigLoadResult {
  const parsed = PanelConfig.safeParse(raw);
  if (parsed.success) return { ok: true, config: parsed.data, path };
  // Only the sensor settings wrong: a panel without its sensor still shows the backend's content.
  if (parsed.error.issues.every((i) => i.path[0] === 'sensor') && typeof raw === 'object' && raw !== null) {
    const withoutSensor = PanelConfig.safeParse({ ...raw, sensor: null });
    if (withoutSensor.success) {
      const problems = parsed.error.issues.map((i) => `${issuePath(i)}: ${i.message}`).join('; ');
      return { ok: true, config: withoutSensor.data, path, sensorFault: { code: SENSOR_SETTINGS_FAULT_CODE, detail: `invalid sensor settings in ${path}: ${problems}`.slice(0, 900) } };
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
    return { ok: false, code: CONFIG_FAULT_CODES.unparseable, path, detail: `${path} is not valid JSON: ${(err as Error).message}`, fields: [] };
  }
  return validatePanelConfig(raw, path);
}
