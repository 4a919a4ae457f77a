// Shared by the OTA tests: a real release feed on 127.0.0.1:0, keys, bundles from generated
// trees, a proxy that cuts a download halfway.
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { ReleaseFeedStore, releasesPlugin } from '@airpanel/backend/releases/index';
import { buildBundle, generateReleaseKey, type BuiltBundle, type ReleaseKeyPair } from '@airpanel/panel/core/update/index';
import { API_PREFIX, endpointUrl, endpoints } from '@airpanel/contract/api';
import * as ops from '@airpanel/release-tools/ops';
import type { FeedClient } from '@airpanel/release-tools/ops';
import { ADMIN_TOKEN } from '../admin.js';
import type { Cleanups } from '../cleanups.js';

export interface TestFeed {
  url: string;
  client: FeedClient;
  store: ReleaseFeedStore;
  app: FastifyInstance;
  manifestUrl(channel: string): string;
  close(): Promise<void>;
}

/** The release feed alone (fastify + the releases plugin) over `dataDir`; closed by `cleanups`. */
export async function startFeed(dataDir: string, cleanups: Cleanups): Promise<TestFeed> {
  const store = new ReleaseFeedStore(dataDir);
  const app = Fastify({ logger: false });
  await app.register(releasesPlugin, { prefix: API_PREFIX, store, isAdmin: (h) => h === `Bearer ${ADMIN_TOKEN}` });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.add(() => app.close());
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    client: { server: url, token: ADMIN_TOKEN },
    store,
    app,
    manifestUrl: (channel) => endpointUrl(url, endpoints.getChannelManifest, { channel }),
    close: () => app.close(),
  };
}

export type UploadedBundle = Awaited<ReturnType<typeof ops.uploadBundle>>;

export interface SignedManifestOptions {
  version: string;
  counter: number;
  keyFiles: readonly string[];
  /** Default stable. */
  channel?: string;
  /** Default 1. */
  rolloutShare?: number;
  validForMs?: number;
  now?: Date;
}

/**
 * A manifest for an uploaded bundle, signed with `keyFiles` outside any ledger (as `sign` on
 * another machine, or a replaying backend) and posted to the feed.
 */
export async function postSignedManifest(
  client: FeedClient,
  up: UploadedBundle,
  o: SignedManifestOptions,
): Promise<{ manifest: ReturnType<typeof ops.makeManifest>; envelope: Awaited<ReturnType<typeof ops.signWithKeyFiles>> }> {
  const manifest = ops.makeManifest({
    version: o.version,
    channel: o.channel ?? 'stable',
    bundleUrl: up.url,
    sha512: up.sha512,
    size: up.size,
    bundleDescriptorSha256: up.bundleDescriptorSha256,
    minRuntime: up.minRuntime,
    counter: o.counter,
    rolloutShare: o.rolloutShare ?? 1,
    validForMs: o.validForMs,
    now: o.now,
  });
  const envelope = await ops.signWithKeyFiles(manifest, o.keyFiles);
  await ops.postManifest(client, envelope);
  return { manifest, envelope };
}

/** Writes a keyring file trusting `keys` and returns its JSON. */
export async function writeKeyring(file: string, keys: ReleaseKeyPair[]): Promise<{ keys: Array<{ keyId: string; publicKey: string }> }> {
  const ring = { keys: keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })) };
  await writeFile(file, JSON.stringify(ring));
  return ring;
}

export async function writeKeyFile(file: string, key: ReleaseKeyPair): Promise<string> {
  await writeFile(file, key.privateKeyPem, { mode: 0o600 });
  return file;
}

export { generateReleaseKey };

/**
 * A generated app tree (what dist/app would be) with a stub entry point, bundled. `padding`
 * adds incompressible bytes so downloads are long enough to cut halfway.
 */
export async function makeBundle(workDir: string, version: string, mainSource: string, padding = 0): Promise<BuiltBundle> {
  const tree = join(workDir, `tree-${version}`);
  await mkdir(join(tree, 'app', 'lib'), { recursive: true });
  await writeFile(join(tree, 'app', 'main.mjs'), mainSource);
  await writeFile(join(tree, 'app', 'lib', 'version.json'), JSON.stringify({ version }));
  if (padding > 0) {
    const { randomBytes } = await import('node:crypto');
    await writeFile(join(tree, 'app', 'lib', 'padding.bin'), randomBytes(padding));
  }
  return buildBundle({
    inputs: [{ dir: join(tree, 'app'), as: 'app' }],
    version,
    main: 'app/main.mjs',
    minRuntime: { electron: '45.0.0', node: '20.0.0' },
    outFile: join(workDir, `bundle-${version}.tar.gz`),
  });
}

export interface BundleProxy {
  url: string;
  /** The Range header of each bundle request (null: none). */
  ranges: (string | null)[];
  /** Bundle bytes that went through since the start or the last reset. */
  bundleBytes(): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A pass-through proxy in front of a feed that counts the bundle bytes a panel downloads and,
 * with `cutFirstAfter`, cuts the first bundle download after that many bytes (socket destroyed
 * mid-body), to test resume.
 */
export async function startBundleProxy(upstream: string, o: { cutFirstAfter?: number } = {}): Promise<BundleProxy> {
  const ranges: (string | null)[] = [];
  let bytes = 0;
  let cut = o.cutFirstAfter === undefined;
  const server = http.createServer((req, res) => {
    const isBundle = req.url?.includes('/update/bundles/') ?? false;
    if (isBundle) ranges.push(req.headers.range ?? null);
    const up = http.request(
      `${upstream}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (isBundle && !cut) {
          cut = true;
          const cutAfter = o.cutFirstAfter!;
          let sent = 0;
          ur.on('data', (chunk: Buffer) => {
            if (sent >= cutAfter) return;
            const part = chunk.subarray(0, Math.max(0, cutAfter - sent));
            sent += part.length;
            bytes += part.length;
            res.write(part);
            if (sent >= cutAfter) {
              ur.destroy();
              res.socket?.destroy();
            }
          });
        } else {
          if (isBundle) ur.on('data', (chunk: Buffer) => (bytes += chunk.length));
          ur.pipe(res);
        }
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ranges,
    bundleBytes: () => bytes,
    reset: () => (bytes = 0),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
