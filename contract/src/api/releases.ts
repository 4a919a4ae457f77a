import { z } from 'zod';
import { UpdateReport } from '../product/status.js';
import { ReleaseChannel, ReleaseManifest, SignedManifestEnvelope } from '../release/manifest.js';
import { apiPath, endpoint, errors, named, ownPanelOr } from './endpoint.js';
import { PanelParams } from './params.js';

/**
 * The release feed (OTA). Panels read manifests and bundles without credentials (a manifest is
 * signed, a bundle named by its hash) and report with their key; the release manager uploads,
 * publishes and pauses with the admin token. The backend holds no signing key.
 */

/** The largest bundle the feed accepts unless the backend is configured otherwise. */
export const DEFAULT_MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

/** A bundle's name: the first 32 bytes of its sha512, in hex. */
export const BUNDLE_NAME_PATTERN = /^[0-9a-f]{64}\.tar\.gz$/;

export const ChannelState = z.object({
  /** Counter of the manifest served now; null = nothing served. */
  activeCounter: z.number().int().nullable(),
  paused: z.boolean(),
  updatedAt: z.string(),
});
export type ChannelState = z.infer<typeof ChannelState>;

export const PanelUpdateReportBody = z.object({
  panelId: z.string().max(63),
  runningVersion: z.string().max(64),
  channel: z.string().max(64),
  report: UpdateReport,
});
export type PanelUpdateReportBody = z.infer<typeof PanelUpdateReportBody>;

export const UploadedBundle = z.object({ name: z.string(), size: z.number().int().min(0), sha512: z.string(), url: z.string() });
export type UploadedBundle = z.infer<typeof UploadedBundle>;

export const PublishedRelease = z.object({ version: z.string(), channel: z.string(), counter: z.number().int(), rolloutShare: z.number() });
export type PublishedRelease = z.infer<typeof PublishedRelease>;

export const ChannelPauseBody = z.object({ paused: z.boolean() });
export const ChannelPauseState = ChannelState.extend({ channel: z.string() });
export type ChannelPauseState = z.infer<typeof ChannelPauseState>;

const ListedReleaseCommon = {
  keyIds: z.array(z.string()),
  publishedAt: z.string(),
  /** Is it the manifest its channel serves now? */
  active: z.boolean(),
  /** The signed manifest as stored, so the release tool can check it before re-signing. */
  envelope: SignedManifestEnvelope,
};
/**
 * A stored release: its manifest's fields and how it stands. A row stored under an older
 * manifest schema is listed with the fields it has and `servable: false` (panels refuse it).
 */
export const ListedRelease = z.union([
  ReleaseManifest.extend({ servable: z.literal(true), notServableReason: z.null(), ...ListedReleaseCommon }),
  z.looseObject({ servable: z.literal(false), notServableReason: z.string(), ...ListedReleaseCommon }),
]);
export type ListedRelease = z.infer<typeof ListedRelease>;

export const ReleaseFeedListing = z.object({
  maxCounter: z.number().int().min(0),
  channels: z.record(z.string(), ChannelState),
  releases: z.array(ListedRelease),
});
export type ReleaseFeedListing = z.infer<typeof ReleaseFeedListing>;

/** What the feed knows of one panel's updates: its own reports and its status messages. */
export const PanelUpdateState = z.object({
  panelId: z.string(),
  runningVersion: z.string().nullable(),
  channel: z.string().nullable(),
  lastUpdate: UpdateReport.nullable(),
  reportedAt: z.string().nullable(),
  statusFirmwareVersion: z.string().nullable().optional(),
  statusUpdate: z.unknown().optional(),
  /** Set when the panel has seen no valid manifest for days: a frozen or withheld feed. */
  noValidManifestSince: z.string().nullable(),
});
export type PanelUpdateState = z.infer<typeof PanelUpdateState>;
export const PanelUpdateStates = z.object({ panels: z.array(PanelUpdateState) });

const ChannelParams = z.object({ channel: z.string() });
const BundleParams = z.object({ name: z.string() });

export const releaseEndpoints = {
  getChannelManifest: endpoint({
    method: 'GET',
    path: apiPath('/update/channels/{channel}/manifest'),
    operationId: 'getChannelManifest',
    tag: 'releases',
    auth: 'none',
    summary: "The channel's signed manifest",
    description: 'No credentials: panels verify the signatures themselves. A paused channel answers 404.',
    params: ChannelParams,
    requestHeaders: [{ name: 'If-None-Match', required: false, description: 'ETag of the manifest the caller has' }],
    responses: {
      200: {
        description: 'The signed manifest',
        schema: named('SignedManifestEnvelope', SignedManifestEnvelope),
        headers: { ETag: 'Entity tag of this manifest (its counter)' },
      },
      304: { description: 'Not modified: the If-None-Match tag is the served manifest' },
      ...errors(404),
    },
  }),
  getBundle: endpoint({
    method: 'GET',
    path: apiPath('/update/bundles/{name}'),
    operationId: 'getBundle',
    tag: 'releases',
    auth: 'none',
    summary: 'A release bundle (HTTP Range supported, for resuming)',
    params: BundleParams,
    requestHeaders: [{ name: 'Range', required: false, description: 'One byte range, e.g. bytes=1000-' }],
    responses: {
      200: { description: 'The whole bundle', mediaType: 'application/gzip' },
      206: { description: 'The requested range', mediaType: 'application/gzip', headers: { 'Content-Range': 'The range sent' } },
      ...errors(404, 416),
    },
  }),
  reportUpdate: endpoint({
    method: 'POST',
    path: apiPath('/update/panels/{panelId}/report'),
    operationId: 'reportUpdate',
    tag: 'releases',
    auth: ownPanelOr('admin'),
    summary: "A panel's update report and the version it runs",
    params: PanelParams,
    body: named('PanelUpdateReportBody', PanelUpdateReportBody),
    responses: { 204: { description: 'Recorded' }, ...errors(400, 401, 403) },
  }),
  uploadBundle: endpoint({
    method: 'PUT',
    path: apiPath('/releases/bundles/{name}'),
    operationId: 'uploadBundle',
    tag: 'releases',
    auth: 'release-manager',
    summary: 'Upload a bundle, named <first 64 hex of its sha512>.tar.gz and checked against x-bundle-sha512',
    params: BundleParams,
    binaryBody: {
      mediaType: 'application/octet-stream',
      maxBytes: DEFAULT_MAX_BUNDLE_BYTES,
      description: 'The bundle (.tar.gz)',
      streamed: true,
    },
    requestHeaders: [{ name: 'x-bundle-sha512', required: true, description: "The bundle's sha512, base64" }],
    responses: { 201: { description: 'Stored', schema: named('UploadedBundle', UploadedBundle) }, ...errors(400, 401, 403, 413) },
  }),
  publishRelease: endpoint({
    method: 'POST',
    path: apiPath('/releases'),
    operationId: 'publishRelease',
    tag: 'releases',
    auth: 'release-manager',
    summary: "Publish a signed manifest: it becomes its channel's",
    description: 'Its counter must be above every published one, its bundle uploaded first.',
    body: named('ReleasePublishBody', SignedManifestEnvelope),
    responses: { 201: { description: 'Published', schema: named('PublishedRelease', PublishedRelease) }, ...errors(400, 401, 403, 409) },
  }),
  pauseChannel: endpoint({
    method: 'POST',
    path: apiPath('/releases/channels/{channel}/pause'),
    operationId: 'pauseChannel',
    tag: 'releases',
    auth: 'release-manager',
    summary: 'Pause or resume a channel (a paused channel serves no manifest)',
    params: z.object({ channel: ReleaseChannel }),
    body: named('ChannelPauseBody', ChannelPauseBody),
    responses: { 200: { description: 'The channel now', schema: named('ChannelPauseState', ChannelPauseState) }, ...errors(400, 401, 403) },
  }),
  listReleases: endpoint({
    method: 'GET',
    path: apiPath('/releases'),
    operationId: 'listReleases',
    tag: 'releases',
    auth: 'viewer',
    summary: 'Releases (each flagged servable), channels and the highest counter',
    responses: { 200: { description: 'The feed', schema: named('ReleaseFeedListing', ReleaseFeedListing) }, ...errors(401, 403) },
  }),
  listPanelUpdates: endpoint({
    method: 'GET',
    path: apiPath('/releases/panels'),
    operationId: 'listPanelUpdates',
    tag: 'releases',
    auth: 'viewer',
    summary: 'Per panel: running version, last update report, and whether it still sees valid manifests',
    responses: { 200: { description: 'Panels', schema: named('PanelUpdateStates', PanelUpdateStates) }, ...errors(401, 403) },
  }),
};
