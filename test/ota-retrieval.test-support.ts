// Shared fixtures of the OTA retrieval tests: a release key, scripted servers on 127.0.0.1, signed manifests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SignedManifestEnvelope } from '@airpanel/contract/release';
import { signManifest } from '@airpanel/panel/core/update/index';
import { generateReleaseKey } from './harness/ota/feed.js';
import { useCleanups } from './harness/index.js';

// Registered once per test file that imports this module (vitest isolates each file's modules).
export const cleanups = useCleanups();

/**
 * Slow retrieval, endless data, rollback floor, credentials and feed silence (issue 11 §3),
 * each against real HTTP servers on 127.0.0.1: a server that trickles, one that never stops,
 * a wiped panel offered an old manifest, a bundle on another origin.
 */
export const key = generateReleaseKey();
export const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

export interface Scripted {
  url: string;
  /** Requests seen: path and the authorization header. */
  seen: Array<{ path: string; authorization: string | undefined; range: string | undefined }>;
  /** Answers by path; a path without a handler answers 404. */
  routes: Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>;
  close(): Promise<void>;
}

/** A scripted HTTP server on 127.0.0.1:0 (a stand-in feed or bundle host); timers it starts stop with it. */
export async function scriptedServer(): Promise<Scripted> {
  const seen: Scripted['seen'] = [];
  const routes: Scripted['routes'] = new Map();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    seen.push({ path, authorization: req.headers.authorization, range: req.headers.range });
    const h = routes.get(path);
    if (h) h(req, res);
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    routes,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Sends `first` at once, then one byte of `rest` every `everyMs` (never idle long enough for an idle timeout). */
export function trickle(res: http.ServerResponse, first: Buffer, rest: Buffer, everyMs: number): void {
  res.write(first);
  let i = 0;
  const t = setInterval(() => {
    if (res.destroyed || i >= rest.length) {
      clearInterval(t);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(rest.subarray(i, i + 1));
    i++;
  }, everyMs);
  res.on('close', () => clearInterval(t));
}

/** A signed manifest; `descriptor` is the sha256 of the bundle's bundle.json (readBundleDescriptor) when it is to be installed. */
export function signed(
  version: string,
  counter: number,
  bundle: { url: string; sha512: string; size: number },
  extra: { releasedAt?: string; expiresAt?: string; descriptor?: string } = {},
): SignedManifestEnvelope {
  return signManifest(
    {
      schema: 2,
      version,
      channel: 'stable',
      bundle,
      bundleDescriptorSha256: extra.descriptor ?? 'b'.repeat(64),
      minRuntime: { electron: '45.0.0', node: '20.0.0' },
      counter,
      releasedAt: extra.releasedAt ?? new Date(Date.now() - 60_000).toISOString(),
      expiresAt: extra.expiresAt ?? new Date(Date.now() + 86_400_000).toISOString(),
      rolloutShare: 1,
    },
    [key.privateKeyPem],
  );
}
