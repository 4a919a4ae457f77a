import { z } from 'zod';
import { Identifier, shortText } from './primitives.js';
import { CertificateRequestPem, Panel, Location, PanelTransportSettings } from './panel.js';
import { ReleaseChannel } from '../release/manifest.js';
import { PanelSensorSettings } from './panel-sensor.js';

export const PanelTopicsSchema = z.object({
  display: z.string().min(1).max(256),
  status: z.string().min(1).max(256),
  commands: z.string().min(1).max(256),
  events: z.string().min(1).max(256),
});

/** Where a panel reaches the backend. `mqttUrl` null = HTTP polling only. */
export const PanelEndpoints = z.object({
  apiBaseUrl: z.url({ protocol: /^https?$/ }),
  mqttUrl: z.url({ protocol: /^(mqtts?|wss?)$/ }).nullable(),
  topics: PanelTopicsSchema,
});
export type PanelEndpoints = z.infer<typeof PanelEndpoints>;

/** A PEM certificate as the registration answer carries it (a CA or a panel's client certificate). */
const PemCertificate = z
  .string()
  .max(16_384)
  .regex(/^-----BEGIN CERTIFICATE-----\r?\n[\s\S]+-----END CERTIFICATE-----\s*$/, 'a PEM certificate');

/** The answer to `POST /api/v1/panels`: the only time the API key is ever shown. */
export const PanelRegistration = z.object({
  panel: Panel,
  apiKey: z.string().min(32).max(128),
  endpoints: PanelEndpoints,
  /** The backend's private CA (PEM) the panel must trust for every connection (panel.json
   *  `caFile`); null when the backend's certificate comes from a public CA, or there is no TLS. */
  caCertificate: PemCertificate.nullable().default(null),
  /** The panel's client certificate (PEM, subject CN = panel id), signed by that CA from the
   *  request's `clientCertificateRequest`; null when none was asked for. */
  clientCertificate: PemCertificate.nullable().default(null),
});
export type PanelRegistration = z.infer<typeof PanelRegistration>;

/** `POST /panels/{id}/client-certificate`: a new client certificate for a registered panel
 *  (after a key rotation revoked the old one, or before it expires). */
export const ClientCertificateBody = z.object({ clientCertificateRequest: CertificateRequestPem });
export type ClientCertificateBody = z.infer<typeof ClientCertificateBody>;

/** The answer: the certificate (the panel's previous one is revoked) and the CA to trust. */
export const ClientCertificateIssue = z.object({
  panelId: Identifier,
  clientCertificate: PemCertificate,
  caCertificate: PemCertificate.nullable(),
});
export type ClientCertificateIssue = z.infer<typeof ClientCertificateIssue>;

/**
 * `panel.json` in the panel's data dir (`/data/airpanel` on a panel), written by
 * provisioning and validated at every boot. Missing or invalid → maintenance `CFG-*`.
 */
export const PanelConfig = z.object({
  schemaVersion: z.literal(1),
  panelId: Identifier,
  apiKey: z.string().min(32).max(128),
  name: shortText(120),
  location: Location.nullable().default(null),
  endpoints: PanelEndpoints,
  /** The older name of `caFile` (PanelTransportSettings), read when `caFile` is null: path on the
   *  panel to the PEM of the backend's CA (provisioning writes it beside panel.json), or the PEM. */
  mqttCaFile: z.string().max(4096).nullable().default(null),
  ...PanelTransportSettings.shape,
  /** Content confirmed longer ago than this is shown with the stale badge. */
  freshnessWindowSeconds: z.number().int().min(10).max(86_400).default(900),
  /** HTTP polling period while MQTT is down or absent (jittered). */
  pollIntervalSeconds: z.number().int().min(1).max(86_400).default(300),
  heartbeatSeconds: z.number().int().min(5).max(3_600).default(60),
  /** OTA release channel the panel follows (`stable`, `beta`, `pilot-lyon`…): the same rule as a
   *  release manifest's channel, so a panel cannot be set to a channel no manifest can name.
   *  Optional so that panel.json files written before channels existed stay valid. */
  updateChannel: ReleaseChannel.default('stable'),
  /** The panel's own sensor (kind and device path or URL); null or absent: none. An invalid
   *  value does not stop the panel: the core runs without the sensor and reports CFG-5. */
  sensor: PanelSensorSettings.nullable().default(null),
});
export type PanelConfig = z.infer<typeof PanelConfig>;
export type PanelConfigInput = z.input<typeof PanelConfig>;

/** The panel.json a freshly registered panel needs. */
export function panelConfigFromRegistration(reg: PanelRegistration): PanelConfigInput {
  return {
    schemaVersion: 1,
    panelId: reg.panel.id,
    apiKey: reg.apiKey,
    name: reg.panel.name,
    location: reg.panel.location,
    endpoints: reg.endpoints,
    // The PEM text itself: provisioning writes it into files beside panel.json at injection.
    caFile: reg.caCertificate,
    clientCertFile: reg.clientCertificate,
  };
}
