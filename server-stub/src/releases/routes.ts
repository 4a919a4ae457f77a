import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { UpdateReport } from '@airpanel/contract';
import {
  DEFAULT_MAX_BUNDLE_BYTES,
  endpointUrl,
  releaseEndpoints as endpoints,
  type EndpointAuth,
  type PanelUpdateState,
} from '@airpanel/contract/api';
import { ReleaseManifest, type ReleaseManifest as Manifest } from '@airpanel/contract/release';
import { ServiceError } from '../errors.js';
import { bindRoute, ok, type BoundRoute, type RouteResult } from '../http/route.js';
import { BUNDLE_NAME, bundleNameOf, newSha512, type ReleaseFeedStore } from './store.js';

/**
 * The release feed's routes (declared in `@airpanel/contract/api`, `releases.ts`):
 *
 * panels (public / panel credentials):
 *   GET  /update/channels/{channel}/manifest     the channel's signed manifest (404 if none or paused)
 *   GET  /update/bundles/{name}                  a bundle, with HTTP Range (resume)
 *   POST /update/panels/{panelId}/report         the panel's UpdateReport and running version
 * release manager (admin bearer token):
 *   PUT  /releases/bundles/{name}                upload a bundle (raw body), checked against x-bundle-sha512
 *   POST /releases                               publish a signed manifest: it becomes its channel's
 *   POST /releases/channels/{channel}/pause      { paused: boolean }
 *   GET  /releases                               releases (each flagged `servable`: schema-1 rows are not), channels, highest counter
 *   GET  /releases/panels                        per panel: running version, last update report, and
 *                                                `noValidManifestSince` (set when the panel has seen no
 *                                                valid manifest for days: a frozen or withheld feed)
 *
 * The backend holds no signing key: a rollout share, a promotion or a rollback is a new
 * manifest signed by the release manager (tools/release), so a compromised backend cannot
 * make a panel install anything. Pause needs no signature (it only withholds the manifest).
 */
export interface ReleaseRoutesOptions {
  store: ReleaseFeedStore;
  /** Extra per-panel info from the backend's own status records (PanelStatus.update). */
  panelStatus?: () => Array<{ panelId: string; firmwareVersion: string | null; update: unknown }>;
  now?: () => number;
  /** Largest accepted bundle. Default 512 MiB. */
  maxBundleBytes?: number;
  /** Who may report for a panel: its key or the admin token (default), or anybody (a feed without panel accounts). */
  reportAuth?: EndpointAuth;
}

/** Resolves a manifest's (possibly relative) bundle URL against the manifest's own URL path. */
export function bundleNameFromUrl(bundleUrl: string, channel: string): string | null {
  const base = endpointUrl('http://feed.invalid', endpoints.getChannelManifest, { channel });
  const u = new URL(bundleUrl, base);
  const m = /\/update\/bundles\/([^/]+)$/.exec(u.pathname);
  return m && BUNDLE_NAME.test(m[1]!) ? m[1]! : null;
}

const badRequest = (code: string, message: string) => new ServiceError('bad-request', code, message);

/** One `bytes=` range of a file of `size` bytes, or null when it cannot be served (416). */
function byteRange(header: string, size: number): { start: number; end: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start >= size || start > end ? null : { start, end };
}

async function bundleAnswer(store: ReleaseFeedStore, name: string, range: string | undefined): Promise<RouteResult> {
  if (!BUNDLE_NAME.test(name)) throw new ServiceError('not-found', 'not-found', 'no such bundle');
  const file = store.bundlePath(name);
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new ServiceError('not-found', 'not-found', 'no such bundle');
  }
  const headers = { 'accept-ranges': 'bytes', 'content-type': 'application/gzip', 'cache-control': 'public, max-age=31536000, immutable' };
  if (range === undefined) {
    return {
      status: 200,
      headers: { ...headers, 'content-length': String(size) },
      raw: { contentType: 'application/gzip', payload: createReadStream(file) },
    };
  }
  const r = byteRange(range, size);
  if (!r) return { status: 416, headers: { ...headers, 'content-range': `bytes */${size}` } };
  return {
    status: 206,
    headers: { ...headers, 'content-range': `bytes ${r.start}-${r.end}/${size}`, 'content-length': String(r.end - r.start + 1) },
    raw: { contentType: 'application/gzip', payload: createReadStream(file, { start: r.start, end: r.end }) },
  };
}

/** Streams an uploaded bundle to a temp file, checks its sha512, and renames it into place. */
async function receiveBundle(store: ReleaseFeedStore, request: FastifyRequest, name: string, maxBytes: number): Promise<RouteResult> {
  const sha512 = String(request.headers['x-bundle-sha512'] ?? '');
  if (!/^[A-Za-z0-9+/]{86}==$/.test(sha512) || bundleNameOf(sha512) !== name) {
    throw badRequest(
      'invalid-request',
      'PUT /releases/bundles/<first 64 hex of sha512>.tar.gz with header x-bundle-sha512: <sha512 base64>',
    );
  }
  const sha512hex = Buffer.from(sha512, 'base64').toString('hex');
  const tmp = join(store.bundlesDir, `.upload-${randomBytes(6).toString('hex')}`);
  const hash = newSha512();
  let size = 0;
  const fh = await open(tmp, 'w');
  try {
    for await (const chunk of request.raw) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) throw new ServiceError('payload-too-large', 'payload-too-large', 'bundle too large');
      hash.update(buf);
      await fh.write(buf);
    }
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    if (e instanceof ServiceError) throw e;
    throw badRequest('upload-failed', (e as Error).message);
  }
  await fh.close();
  if (hash.digest('hex') !== sha512hex) {
    await rm(tmp, { force: true });
    throw badRequest('checksum-mismatch', 'uploaded bytes do not match x-bundle-sha512');
  }
  await rename(tmp, store.bundlePath(name));
  return ok({ name, size, sha512, url: `../../bundles/${name}` }, 201);
}

/** Per panel: its own reports merged with what its status messages say of its updates. */
function panelUpdateStates(store: ReleaseFeedStore, panelStatus: ReleaseRoutesOptions['panelStatus']): PanelUpdateState[] {
  const byId = new Map<string, PanelUpdateState>();
  for (const r of store.panelRecords()) {
    byId.set(r.panelId, {
      panelId: r.panelId,
      runningVersion: r.runningVersion,
      channel: r.channel,
      lastUpdate: r.report,
      reportedAt: r.receivedAt,
      noValidManifestSince: r.report.noValidManifestSince ?? null,
    });
  }
  for (const s of panelStatus?.() ?? []) {
    const e = byId.get(s.panelId) ?? {
      panelId: s.panelId,
      runningVersion: null,
      channel: null,
      lastUpdate: null,
      reportedAt: null,
      noValidManifestSince: null,
    };
    const fromStatus = UpdateReport.safeParse(s.update);
    // The newer of the two reports says whether the panel still sees valid manifests.
    const reportAt = e.lastUpdate?.at ?? '';
    const silent =
      fromStatus.success && fromStatus.data.at >= reportAt ? (fromStatus.data.noValidManifestSince ?? null) : e.noValidManifestSince;
    byId.set(s.panelId, { ...e, statusFirmwareVersion: s.firmwareVersion, statusUpdate: s.update ?? null, noValidManifestSince: silent });
  }
  return [...byId.values()].sort((a, b) => a.panelId.localeCompare(b.panelId));
}

export function releaseRoutes(o: ReleaseRoutesOptions): BoundRoute[] {
  const { store } = o;
  const now = () => new Date((o.now ?? Date.now)()).toISOString();
  const maxBundle = o.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  return [
    // ---- panels ----
    bindRoute(endpoints.getChannelManifest, ({ params, request }) => {
      const served = store.served(params.channel);
      if (!served) throw new ServiceError('not-found', 'no-release', `no release on channel ${params.channel}`);
      if (served.paused) throw new ServiceError('not-found', 'channel-paused', `channel ${params.channel} is paused`);
      const etag = `"m${String((served.envelope.manifest as { counter?: unknown }).counter)}"`;
      if (request.headers['if-none-match'] === etag) return { status: 304 };
      return {
        status: 200,
        headers: { etag, 'cache-control': 'no-cache' },
        raw: { contentType: 'application/json', payload: JSON.stringify(served.envelope) },
      };
    }),
    bindRoute(endpoints.getBundle, ({ params, request }) => bundleAnswer(store, params.name, request.headers.range)),
    bindRoute(
      endpoints.reportUpdate,
      ({ params, body }) => {
        if (body.panelId !== params.panelId) throw badRequest('invalid-request', 'panelId mismatch');
        store.recordPanel({ ...body, receivedAt: now() });
        return { status: 204 };
      },
      { ...(o.reportAuth ? { auth: o.reportAuth } : {}) },
    ),

    // ---- release manager ----
    bindRoute(endpoints.uploadBundle, ({ params, request }) => receiveBundle(store, request, params.name, maxBundle), {
      bodyLimit: maxBundle,
    }),
    bindRoute(endpoints.publishRelease, async ({ body: envelope }) => {
      const parsed = ReleaseManifest.safeParse(envelope.manifest);
      if (!parsed.success)
        throw badRequest('invalid-manifest', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const m: Manifest = parsed.data;
      if (m.counter <= store.maxCounter)
        throw new ServiceError('conflict', 'counter-not-growing', `counter ${m.counter} must be above ${store.maxCounter}`);
      const name = bundleNameFromUrl(m.bundle.url, m.channel);
      if (name === null || name !== bundleNameOf(m.bundle.sha512))
        throw badRequest('bad-bundle-url', "the bundle URL must point at this feed's bundle with the manifest's sha512");
      let size: number;
      try {
        size = (await stat(store.bundlePath(name))).size;
      } catch {
        throw badRequest('bundle-missing', 'upload the bundle first');
      }
      if (size !== m.bundle.size)
        throw badRequest('bundle-size-mismatch', `stored bundle has ${size} bytes, manifest says ${m.bundle.size}`);
      store.addRelease(envelope, m, now());
      return ok({ version: m.version, channel: m.channel, counter: m.counter, rolloutShare: m.rolloutShare }, 201);
    }),
    bindRoute(endpoints.pauseChannel, ({ params, body }) =>
      ok({ channel: params.channel, ...store.setPaused(params.channel, body.paused, now()) }),
    ),
    bindRoute(endpoints.listReleases, () => {
      const channels = store.channels();
      const releases = store.releases().map((r) => {
        const v = store.viewOf(r);
        const active = v.channel !== null && v.counter !== null && channels[v.channel]?.activeCounter === v.counter;
        // `envelope`: the signed manifest as stored, so the release tool can check it before re-signing.
        const common = { keyIds: r.envelope.signatures.map((s) => s.keyId), publishedAt: r.publishedAt, active, envelope: r.envelope };
        return v.servable
          ? { ...v.manifest, servable: true, notServableReason: null, ...common }
          : { ...v.fields, servable: false, notServableReason: v.reason, ...common };
      });
      return ok({ maxCounter: store.maxCounter, channels, releases });
    }),
    bindRoute(endpoints.listPanelUpdates, () => ok({ panels: panelUpdateStates(store, o.panelStatus) })),
  ];
}
