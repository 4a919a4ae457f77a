import { z } from 'zod';
import { Identifier, IsoDateTime, shortText } from './primitives.js';
import { LastStart, PANEL_STATE_NAMES } from './status.js';
import { PanelSensorReport } from './panel-sensor.js';

export const Location = z.object({
  description: shortText(200),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
});
export type Location = z.infer<typeof Location>;

/** A PKCS#10 certificate request (PEM) for a panel's client certificate (mTLS); the key pair
 *  stays where it was made (the technician's machine). */
export const CertificateRequestPem = z
  .string()
  .max(8_192)
  .regex(/^-----BEGIN CERTIFICATE REQUEST-----/, 'a PEM certificate request');

/** What an admin sends to create a panel; unset references take the backend's defaults. */
export const PanelCreateBody = z.object({
  /** Optional chosen id (e.g. an asset tag); generated when absent. */
  id: Identifier.optional(),
  name: shortText(120),
  location: Location.optional(),
  sensorSourceId: Identifier.nullable().optional(),
  contentSetId: Identifier.optional(),
  levelSchemeId: Identifier.optional(),
  /** The panel's client certificate request; needs a backend with a private CA (`--tls-ca-dir`). */
  clientCertificateRequest: CertificateRequestPem.optional(),
});
export type PanelCreateBody = z.infer<typeof PanelCreateBody>;

/** Partial update of a panel; `null` sensor unassigns it. */
export const PanelUpdateBody = z
  .object({
    name: shortText(120),
    location: Location.nullable(),
    sensorSourceId: Identifier.nullable(),
    contentSetId: Identifier,
    levelSchemeId: Identifier,
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');
export type PanelUpdateBody = z.infer<typeof PanelUpdateBody>;

export const Panel = z.object({
  id: Identifier,
  name: shortText(120),
  location: Location.nullable(),
  sensorSourceId: Identifier.nullable(),
  contentSetId: Identifier,
  levelSchemeId: Identifier,
  createdAt: IsoDateTime,
});
export type Panel = z.infer<typeof Panel>;

/** A panel as the fleet listing shows it: its record plus what the backend last heard. */
export const PanelSummary = Panel.extend({
  online: z.boolean(),
  lastSeenAt: IsoDateTime.nullable(),
  state: z.enum(PANEL_STATE_NAMES).nullable(),
  firmwareVersion: z.string().nullable(),
  currentRevision: z.number().int().nullable(),
  displayedRevision: z.number().int().nullable(),
  /** True when the panel reports a revision older than the current one. */
  lagging: z.boolean(),
  lastError: z.string().nullable(),
  /** The panel's own sensor as it last reported it (null: none, or not reported). */
  ownSensor: PanelSensorReport.nullable().default(null),
  /** Why the panel's app last started, as its last status said (null: not reported). */
  lastStart: LastStart.nullable().default(null),
});
export type PanelSummary = z.infer<typeof PanelSummary>;

/**
 * How a panel secures its connections, in `panel.json` (part of `PanelConfig`). One trust store
 * serves everything the panel fetches: MQTT, display polling, screenshots, OTA manifests and
 * bundles. Each file field holds a path on the panel (provisioning writes the files beside
 * panel.json) or the PEM text itself.
 */
export const PanelTransportSettings = z.object({
  /** The backend's private CA (PEM). When set, it is the only CA the panel trusts; when null,
   *  the system's public roots. `mqttCaFile` is the older name of the same file. */
  caFile: z.string().min(1).max(16_384).nullable().default(null),
  /** The panel's client certificate (mTLS, subject = panel id) and its private key (a file
   *  readable by the panel user only, mode 0600); both or neither. */
  clientCertFile: z.string().min(1).max(16_384).nullable().default(null),
  clientKeyFile: z.string().min(1).max(16_384).nullable().default(null),
  /** `http://`, `mqtt://` or `ws://` endpoints on a host other than loopback are refused at boot
   *  (maintenance CFG-6) unless this says so: a lab or a closed network, never a street. */
  allowInsecureTransport: z.boolean().default(false),
});
export type PanelTransportSettings = z.infer<typeof PanelTransportSettings>;
