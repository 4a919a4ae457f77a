import { createReadStream } from 'node:fs';
import { rename, rm, stat, open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { UpdateReport } from '@airpanel/contract';
import { ReleaseChannel, ReleaseManifest, SignedManifestEnvelope, type ReleaseManifest as Manifest } from '@airpanel/contract/release';
import { BUNDLE_NAME, bundleNameOf, newSha512, type ReleaseFeedStore, type PanelUpdateRecord } from './store.js';

/**
 * The release feed as a self-contained fastify plugin (register it under `/api/v1`):
 *
 * panels (public / panel credentials):
 *   GET  /update/channels/:channel/manifest      the channel's signed manifest (404 if none or paused)
 *   GET  /update/bundles/:name                   a bundle, with HTTP Range (resume)
 *   POST /update/panels/:panelId/report          the panel's UpdateReport and running version
 * release manager (admin bearer token):
 *   PUT  /releases/bundles/:name                 upload a bundle (raw body), checked against x-bundle-sha512
 *   POST /releases                               publish a signed manifest: it becomes its channel's
 *   POST /releases/channels/:channel/pause       { paused: boolean }
 *   GET  /releases                               releases (each flagged `servable`: schema-1 rows are not), channels, highest counter
 *   GET  /releases/panels                        per panel: running version, last update report, and
 *                                                `noValidManifestSince` (set when the panel has seen no
 *                                                valid manifest for days: a frozen or withheld feed)
 *
 * The backend holds no signing key: a rollout share, a promotion or a rollback is a new
 * manifest signed by the release manager (tools/release), so a compromised backend cannot
 * make a panel install anything. Pause needs no signature (it only withholds the manifest).
 */
export interface ReleasesPluginOptions {
  store: ReleaseFeedStore;
  /** Is this Authorization header the admin's? */
  isAdmin: (authorization: string | undefined) => boolean;
  /** May this Authorization header report for this panel? Default: anyone (document the gap). */
  isPanel?: (panelId: string, authorization: string | undefined) => boolean;
  /** Extra per-panel info from the backend's own status records (PanelStatus.update). */
  panelStatus?: () => Array<{ panelId: string; firmwareVersion: string | null; update: unknown }>;
  now?: () => number;
  /** Largest accepted bundle. Default 512 MiB. */
  maxBundleBytes?: number;
}

const PanelReportBody = z.object({
  panelId: z.string().max(63),
  runningVersion: z.string().max(64),
  channel: z.string().max(64),
  report: UpdateReport,
});

function fail(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify({ error: { code, message } }));
}

/** Resolves a manifest's (possibly relative) bundle URL against the manifest's own URL path. */
export function bundleNameFromUrl(bundleUrl: string, channel: string): string | null {
  const base = `http://feed.invalid/api/v1/update/channels/${channel}/manifest`;
  const u = new URL(bundleUrl, base);
  const m = /\/update\/bundles\/([^/]+)$/.exec(u.pathname);
  return m && BUNDLE_NAME.test(m[1]!) ? m[1]! : null;
}

export async function releasesPlugin(app: FastifyInstance, o: ReleasesPluginOptions): Promise<void> {
  const store = o.store;
  const now = () => new Date((o.now ?? Date.now)()).toISOString();
  const maxBundle = o.maxBundleBytes ?? 512 * 1024 * 1024;
  // Bundle uploads are streamed to disk by the route, not parsed.
  app.addContentTypeParser('application/octet-stream', (_req, _payload, done) => done(null));

  const admin = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (o.isAdmin(req.headers.authorization)) return true;
    void fail(reply, 401, 'unauthorized', 'admin token required');
    return false;
  };

  // ---- panels ----

  app.get('/update/channels/:channel/manifest', async (req, reply) => {
    const { channel } = req.params as { channel: string };
    const served = store.served(channel);
    if (!served) return fail(reply, 404, 'no-release', `no release on channel ${channel}`);
    if (served.paused) return fail(reply, 404, 'channel-paused', `channel ${channel} is paused`);
    const counter = String((served.envelope.manifest as { counter?: unknown }).counter);
    const etag = `"m${counter}"`;
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.header('etag', etag).header('cache-control', 'no-cache').type('application/json').send(JSON.stringify(served.envelope));
  });

  app.get('/update/bundles/:name', async (req, reply) => {
    const { name } = req.params as { name: string };
    if (!BUNDLE_NAME.test(name)) return fail(reply, 404, 'not-found', 'no such bundle');
    const file = store.bundlePath(name);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      return fail(reply, 404, 'not-found', 'no such bundle');
    }
    reply.header('accept-ranges', 'bytes').header('content-type', 'application/gzip').header('cache-control', 'public, max-age=31536000, immutable');
    const range = req.headers.range;
    if (range === undefined) {
      return reply.header('content-length', String(size)).send(createReadStream(file));
    }
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let start: number;
    let end: number;
    if (!m || (m[1] === '' && m[2] === '')) return reply.code(416).header('content-range', `bytes */${size}`).send();
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2]));
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start >= size || start > end) return reply.code(416).header('content-range', `bytes */${size}`).send();
    return reply
      .code(206)
      .header('content-range', `bytes ${start}-${end}/${size}`)
      .header('content-length', String(end - start + 1))
      .send(createReadStream(file, { start, end }));
  });

  app.post('/update/panels/:panelId/report', async (req, reply) => {
    const { panelId } = req.params as { panelId: string };
    if (o.isPanel && !o.isPanel(panelId, req.headers.authorization)) return fail(reply, 401, 'unauthorized', 'panel credentials required');
    const body = PanelReportBody.safeParse(req.body);
    if (!body.success || body.data.panelId !== panelId) return fail(reply, 400, 'invalid-request', body.success ? 'panelId mismatch' : body.error.issues[0]?.message ?? 'bad body');
    store.recordPanel({ ...body.data, receivedAt: now() });
    return reply.code(204).send();
  });

  // ---- release manager ----

  app.put('/releases/bundles/:name', { bodyLimit: maxBundle }, async (req, reply) => {
    if (!admin(req, reply)) return reply;
    const { name } = req.params as { name: string };
    const sha512 = String(req.headers['x-bundle-sha512'] ?? '');
    if (!/^[A-Za-z0-9+/]{86}==$/.test(sha512) || bundleNameOf(sha512) !== name) {
      return fail(reply, 400, 'invalid-request', 'PUT /releases/bundles/<first 64 hex of sha512>.tar.gz with header x-bundle-sha512: <sha512 base64>');
    }
    const sha512hex = Buffer.from(sha512, 'base64').toString('hex');
    const target = store.bundlePath(name);
    const tmp = join(store.bundlesDir, `.upload-${randomBytes(6).toString('hex')}`);
    const hash = newSha512();
    let size = 0;
    const fh = await open(tmp, 'w');
    try {
      for await (const chunk of req.raw) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > maxBundle) throw Object.assign(new Error('bundle too large'), { status: 413 });
        hash.update(buf);
        await fh.write(buf);
      }
      await fh.sync();
    } catch (e) {
      await fh.close();
      await rm(tmp, { force: true });
      const status = (e as { status?: number }).status ?? 400;
      return fail(reply, status, status === 413 ? 'payload-too-large' : 'upload-failed', (e as Error).message);
    }
    await fh.close();
    if (hash.digest('hex') !== sha512hex) {
      await rm(tmp, { force: true });
      return fail(reply, 400, 'checksum-mismatch', 'uploaded bytes do not match x-bundle-sha512');
    }
    await rename(tmp, target);
    return reply.code(201).send({ name, size, sha512, url: `../../bundles/${name}` });
  });

  app.post('/releases', async (req, reply) => {
    if (!admin(req, reply)) return reply;
    const env = SignedManifestEnvelope.safeParse(req.body);
    if (!env.success) return fail(reply, 400, 'invalid-request', env.error.issues[0]?.message ?? 'not a signed manifest');
    const parsed = ReleaseManifest.safeParse(env.data.manifest);
    if (!parsed.success) return fail(reply, 400, 'invalid-manifest', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const m: Manifest = parsed.data;
    if (m.counter <= store.maxCounter) return fail(reply, 409, 'counter-not-growing', `counter ${m.counter} must be above ${store.maxCounter}`);
    const name = bundleNameFromUrl(m.bundle.url, m.channel);
    if (name === null || name !== bundleNameOf(m.bundle.sha512)) return fail(reply, 400, 'bad-bundle-url', 'the bundle URL must point at this feed\'s bundle with the manifest\'s sha512');
    try {
      const s = await stat(store.bundlePath(name));
      if (s.size !== m.bundle.size) return fail(reply, 400, 'bundle-size-mismatch', `stored bundle has ${s.size} bytes, manifest says ${m.bundle.size}`);
    } catch {
      return fail(reply, 400, 'bundle-missing', 'upload the bundle first');
    }
    store.addRelease(env.data, m, now());
    return reply.code(201).send({ version: m.version, channel: m.channel, counter: m.counter, rolloutShare: m.rolloutShare });
  });

  app.post('/releases/channels/:channel/pause', async (req, reply) => {
    if (!admin(req, reply)) return reply;
    const { channel } = req.params as { channel: string };
    if (!ReleaseChannel.safeParse(channel).success) return fail(reply, 400, 'invalid-request', 'bad channel');
    const body = z.object({ paused: z.boolean() }).safeParse(req.body);
    if (!body.success) return fail(reply, 400, 'invalid-request', 'body: { "paused": true|false }');
    return reply.send({ channel, ...store.setPaused(channel, body.data.paused, now()) });
  });

  app.get('/releases', async (req, reply) => {
    if (!admin(req, reply)) return reply;
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
    return reply.send({ maxCounter: store.maxCounter, channels, releases });
  });

  app.get('/releases/panels', async (req, reply) => {
    if (!admin(req, reply)) return reply;
    type Row = { panelId: string; runningVersion: string | null; channel: string | null; lastUpdate: unknown; reportedAt: string | null; statusFirmwareVersion?: string | null; statusUpdate?: unknown; noValidManifestSince: string | null };
    const byId = new Map<string, Row>();
    for (const r of store.panelRecords() as PanelUpdateRecord[]) {
      byId.set(r.panelId, { panelId: r.panelId, runningVersion: r.runningVersion, channel: r.channel, lastUpdate: r.report, reportedAt: r.receivedAt, noValidManifestSince: r.report.noValidManifestSince ?? null });
    }
    for (const s of o.panelStatus?.() ?? []) {
      const e = byId.get(s.panelId) ?? { panelId: s.panelId, runningVersion: null, channel: null, lastUpdate: null, reportedAt: null, noValidManifestSince: null };
      const fromStatus = UpdateReport.safeParse(s.update);
      // The newer of the two reports says whether the panel still sees valid manifests.
      const reportAt = (e.lastUpdate as { at?: string } | null)?.at ?? '';
      const silent = fromStatus.success && fromStatus.data.at >= reportAt ? (fromStatus.data.noValidManifestSince ?? null) : e.noValidManifestSince;
      byId.set(s.panelId, { ...e, statusFirmwareVersion: s.firmwareVersion, statusUpdate: s.update ?? null, noValidManifestSince: silent });
    }
    return reply.send({ panels: [...byId.values()].sort((a, b) => a.panelId.localeCompare(b.panelId)) });
  });
}
