import { POLLUTANTS, type Pollutant, type SensorSource } from '@airpanel/contract';
import type { NumberInput } from './scheme-draft.js';

/**
 * The sensor source form's model: every field of every kind (switching the kind keeps what
 * was typed), turned into the body of the kind chosen. A `panel` source is made by the
 * backend for a panel's own sensor; only its name is edited.
 */
export type SensorKind = SensorSource['spec']['kind'];

export interface SensorDraft {
  /** Only for a new source (empty: the backend makes one). */
  id: string;
  name: string;
  kind: SensorKind;
  /** For a `panel` source: the panel whose sensor it is. */
  panelId: string;
  url: string;
  /** Per pollutant the dotted path of its value in the vendor's JSON; empty: not read. */
  fieldMap: Record<Pollutant, string>;
  measuredAtField: string;
  timeoutMs: NumberInput;
  retries: NumberInput;
  headers: { name: string; value: string }[];
}

const emptyFieldMap = (): Record<Pollutant, string> => Object.fromEntries(POLLUTANTS.map((p) => [p, ''])) as Record<Pollutant, string>;

export function newSensorDraft(): SensorDraft {
  return {
    id: '',
    name: '',
    kind: 'simulated',
    panelId: '',
    url: 'https://',
    fieldMap: emptyFieldMap(),
    measuredAtField: '',
    timeoutMs: 5000,
    retries: 2,
    headers: [],
  };
}

export function sensorDraftOf(source: SensorSource): SensorDraft {
  const draft: SensorDraft = { ...newSensorDraft(), id: source.id, name: source.name, kind: source.spec.kind };
  const spec = source.spec;
  if (spec.kind === 'panel') draft.panelId = spec.panelId;
  if (spec.kind === 'http-json') {
    draft.url = spec.url;
    for (const [pollutant, path] of Object.entries(spec.fieldMap)) draft.fieldMap[pollutant as Pollutant] = path ?? '';
    draft.measuredAtField = spec.measuredAtField ?? '';
    draft.timeoutMs = spec.timeoutMs;
    draft.retries = spec.retries;
    draft.headers = Object.entries(spec.headers ?? {}).map(([name, value]) => ({ name, value }));
  }
  return draft;
}

function specOf(draft: SensorDraft) {
  if (draft.kind === 'simulated') return { kind: 'simulated' as const };
  if (draft.kind === 'panel') return { kind: 'panel' as const, panelId: draft.panelId };
  const fieldMap: Partial<Record<Pollutant, string>> = {};
  for (const pollutant of POLLUTANTS) {
    const path = draft.fieldMap[pollutant].trim();
    if (path !== '') fieldMap[pollutant] = path;
  }
  const headers = Object.fromEntries(draft.headers.filter((h) => h.name.trim() !== '').map((h) => [h.name.trim(), h.value]));
  return {
    kind: 'http-json' as const,
    url: draft.url.trim(),
    fieldMap,
    ...(draft.measuredAtField.trim() !== '' ? { measuredAtField: draft.measuredAtField.trim() } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    timeoutMs: draft.timeoutMs,
    retries: draft.retries,
  };
}

/** The request body (`SensorSourceBody`, with the id for a create that names one). */
export function sensorBodyOf(draft: SensorDraft, options: { withId: boolean }) {
  const body = { name: draft.name, spec: specOf(draft) };
  return options.withId && draft.id.trim() !== '' ? { ...body, id: draft.id.trim() } : body;
}
