import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_PREFIX } from '@airpanel/contract/api';

/**
 * The operators' web app (backoffice/, built by `npm run build:backoffice`) served at `/`:
 * its files from the built folder, and its index.html for every other path that is not the
 * API's, so the app's own routes (`/fleet`, `/panels/p1`) load on a reload or a bookmark.
 *
 * Every answer carries a strict Content-Security-Policy: scripts, styles, fonts and
 * connections from this origin only (the app's API calls and event stream), no inline script,
 * no frame may embed the app. A path that tries to leave the folder (`..`, an encoded slash or
 * backslash, a symbolic link pointing out) is answered 404, never read.
 */

/** Where `npm run build:backoffice` writes the app (backoffice/dist at the repository root). */
export const DEFAULT_BACKOFFICE_DIR = fileURLToPath(new URL('../../../backoffice/dist', import.meta.url));

export const BACKOFFICE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  // Screenshots are shown from the API (same origin) or as blobs the app fetched.
  "img-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every answer of the app's routes. */
export const BACKOFFICE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': BACKOFFICE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** No file of a Vite build comes near this; a larger one is not served (it is not the app's). */
export const MAX_STATIC_FILE_BYTES = 16 * 1024 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

export const NOT_BUILT_TEXT =
  'The backoffice web app is not built.\n\nBuild it with `npm run build:backoffice` (it is written to backoffice/dist), then reload this page.\n';

export interface BackofficeStaticOptions {
  /** The built app's folder (index.html and assets/). */
  dir: string;
}

/**
 * The repository-relative segments of a request path inside the app's folder, or null when
 * the path names nothing that may be served: a `.` or `..` segment, an empty segment, a
 * backslash, a NUL or an encoded slash, a malformed escape.
 */
export function safeSegments(urlPath: string): string[] | null {
  const segments: string[] = [];
  const raw = urlPath.replace(/^\/+/, '');
  if (raw === '') return segments;
  for (const encoded of raw.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(encoded);
    } catch {
      return null;
    }
    if (segment === '' || segment === '.' || segment === '..') return null;
    if (/[/\\\0]/.test(segment)) return null;
    segments.push(segment);
  }
  return segments;
}

function isApiPath(urlPath: string): boolean {
  return urlPath === API_PREFIX || urlPath.startsWith(`${API_PREFIX}/`) || urlPath === '/api' || urlPath.startsWith('/api/');
}

/** The bytes of a regular file inside `root` (symbolic links resolved, and kept inside), or null. */
async function readInside(root: string, segments: readonly string[]): Promise<Buffer | null> {
  const candidate = path.join(root, ...segments);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return null;
  }
  if (real !== root && !real.startsWith(`${root}${path.sep}`)) return null;
  const info = await stat(real).catch(() => null);
  if (!info?.isFile() || info.size > MAX_STATIC_FILE_BYTES) return null;
  return readFile(real);
}

/** Adds `GET /` and the app's files with the SPA fallback to `app`. */
export function serveBackoffice(app: FastifyInstance, options: BackofficeStaticOptions): void {
  let rootPromise: Promise<string | null> | null = null;
  // Resolved once it exists: a build made while the backend runs is picked up.
  const resolvedRoot = async (): Promise<string | null> => {
    rootPromise ??= realpath(options.dir).catch(() => null);
    const root = await rootPromise;
    if (root === null) rootPromise = null;
    return root;
  };

  const send = (reply: FastifyReply, status: number, contentType: string, body: Buffer | string, cache: string) =>
    reply.code(status).headers(BACKOFFICE_HEADERS).header('content-type', contentType).header('cache-control', cache).send(body);

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const urlPath = request.url.split('?')[0]!;
    if (isApiPath(urlPath)) return reply.callNotFound();
    const root = await resolvedRoot();
    const index = root === null ? null : await readInside(root, ['index.html']);
    if (root === null || index === null) {
      return send(reply, 503, 'text/plain; charset=utf-8', NOT_BUILT_TEXT, 'no-store');
    }
    const segments = safeSegments(urlPath);
    if (segments === null) return send(reply, 404, 'text/plain; charset=utf-8', 'Not found\n', 'no-store');
    const last = segments.at(-1) ?? '';
    const extension = path.extname(last).toLowerCase();
    if (segments.length > 0 && extension !== '') {
      const bytes = await readInside(root, segments);
      if (bytes === null) return send(reply, 404, 'text/plain; charset=utf-8', 'Not found\n', 'no-store');
      // Vite names what is under assets/ by its content hash: it never changes.
      const cache = segments[0] === 'assets' ? 'public, max-age=31536000, immutable' : 'no-cache';
      return send(reply, 200, CONTENT_TYPES[extension] ?? 'application/octet-stream', bytes, cache);
    }
    // An app route (no file extension): the app itself, which routes in the browser.
    return send(reply, 200, CONTENT_TYPES['.html']!, index, 'no-cache');
  }

  app.get('/', handle);
  app.get('/*', handle);
}
