import { z } from 'zod';
import { Identifier, IsoDateTime, shortText } from './primitives.js';
import { PollutantValues } from './readings.js';

/**
 * The sensor mounted on a panel, as `panel.json` names it (`sensor`). Serial particulate
 * sensors are read over a UART at 9600 baud; a Sensor.Community ("airrohr") node is polled for
 * its local `data.json`.
 */
export const SERIAL_SENSOR_KINDS = ['sds011', 'pms5003', 'pms7003'] as const;
export const SerialSensorKind = z.enum(SERIAL_SENSOR_KINDS);
export type SerialSensorKind = z.infer<typeof SerialSensorKind>;

/** A device path under /dev: no `..`, no shell or control characters. */
const DevicePath = z
  .string()
  .max(200)
  .regex(/^\/dev\/[A-Za-z0-9._/-]+$/, 'a device path under /dev, e.g. /dev/ttyUSB0')
  .refine((p) => !p.split('/').includes('..'), 'no ".." in a device path');

export const SerialSensorSettings = z.object({
  kind: SerialSensorKind,
  device: DevicePath,
});
export type SerialSensorSettings = z.infer<typeof SerialSensorSettings>;

export const AirrohrSensorSettings = z.object({
  kind: z.literal('airrohr'),
  /** The node's `data.json`, e.g. `http://192.168.4.20/data.json`. */
  url: z.url({ protocol: /^https?$/ }),
  /** The node measures every 145 s by default; polling faster only re-reads the same values. */
  pollSeconds: z.number().int().min(5).max(3_600).default(60),
});
export type AirrohrSensorSettings = z.infer<typeof AirrohrSensorSettings>;

export const PanelSensorSettings = z.discriminatedUnion('kind', [
  SerialSensorSettings.extend({ kind: z.literal('sds011') }),
  SerialSensorSettings.extend({ kind: z.literal('pms5003') }),
  SerialSensorSettings.extend({ kind: z.literal('pms7003') }),
  AirrohrSensorSettings,
]);
export type PanelSensorSettings = z.infer<typeof PanelSensorSettings>;
export type PanelSensorSettingsInput = z.input<typeof PanelSensorSettings>;
export const PANEL_SENSOR_KINDS = [...SERIAL_SENSOR_KINDS, 'airrohr'] as const;
export type PanelSensorKind = (typeof PANEL_SENSOR_KINDS)[number];

/**
 * `--sensor sds011:/dev/ttyUSB0`, `--sensor pms5003:/dev/ttyAMA0`,
 * `--sensor airrohr:http://192.168.4.20/data.json`: the compact form technicians type.
 * Returns the settings or a message saying what is wrong.
 */
export function parseSensorArgument(text: string): { ok: true; settings: PanelSensorSettings } | { ok: false; message: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) return { ok: false, message: `expected KIND:WHERE (kinds: ${PANEL_SENSOR_KINDS.join(', ')}), got "${text}"` };
  const kind = text.slice(0, colon);
  const where = text.slice(colon + 1);
  const candidate = kind === 'airrohr' ? { kind, url: where } : { kind, device: where };
  const parsed = PanelSensorSettings.safeParse(candidate);
  if (parsed.success) return { ok: true, settings: parsed.data };
  return { ok: false, message: parsed.error.issues.map((i) => `${i.path.join('.') || 'kind'}: ${i.message}`).join('; ') };
}

/** How the panel judges its own sensor, reported in its status. */
export const SensorHealthState = z.enum(['starting', 'ok', 'faulty']);
export type SensorHealthState = z.infer<typeof SensorHealthState>;

export const PanelSensorReport = z.object({
  kind: z.enum(PANEL_SENSOR_KINDS),
  state: SensorHealthState,
  /** Technician's code while faulty (`SNS-1`…, `CFG-5`), else null. */
  code: z
    .string()
    .regex(/^[A-Z]{2,5}-[0-9]{1,3}$/)
    .nullable(),
  detail: z.string().max(500).nullable(),
  lastSampleAt: IsoDateTime.nullable(),
  /** Readings waiting on the panel's disk for the broker. */
  queuedReadings: z.number().int().min(0),
});
export type PanelSensorReport = z.infer<typeof PanelSensorReport>;

/**
 * One reading of a panel's own sensor, published on the panel's events topic (QoS 1) and kept
 * in the panel's on-disk queue until the broker acknowledged it. `id` is stable across
 * retries, so the backend records each reading once however often it arrives.
 */
export const PanelReading = z.object({
  id: z.uuid(),
  panelId: Identifier,
  /** Grows by one per reading of this panel, across restarts: the order readings were taken. */
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  measuredAt: IsoDateTime,
  sensor: z.enum(PANEL_SENSOR_KINDS),
  values: PollutantValues,
  /** How many raw sensor samples this reading averages. */
  samples: z.number().int().min(1).max(100_000),
});
export type PanelReading = z.infer<typeof PanelReading>;

/** `POST /panels/{id}/sensor-readings/recorded`: which of these ids the backend has. */
export const RecordedReadingsBody = z.object({ ids: z.array(z.uuid()).min(1).max(1_000) });
export type RecordedReadingsBody = z.infer<typeof RecordedReadingsBody>;
export const RecordedReadingsAnswer = z.object({ recorded: z.array(z.uuid()).max(1_000) });
export type RecordedReadingsAnswer = z.infer<typeof RecordedReadingsAnswer>;

/** The `source` a panel's readings carry in the backend's reading lists. */
export function panelReadingSource(panelId: string, sensor: PanelSensorKind): string {
  return shortText(200).parse(`panel:${panelId}/${sensor}`);
}
