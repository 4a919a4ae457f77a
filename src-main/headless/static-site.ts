import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';

/**
 * A static site that serves only the files it found when it was created (the built
 * renderer). A request path is looked up in that list as a plain string and never joined
 * onto the file system, so `..`, encoded slashes or symlink tricks cannot reach any other
 * file. Only GET and HEAD are answered.
 */

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

interface StaticFile {
  path: string;
  size: number;
  contentType: string;
}

export interface StaticSite {
  /** URL paths served, e.g. `/index.html`, `/assets/index-abc.js`. */
  readonly paths: readonly string[];
  /** Answers the request when its path is one of the site's files; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string, headers?: Record<string, string>): boolean;
}

const MAX_FILES = 10_000;

async function walk(root: string, dir: string, out: Map<string, StaticFile>): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      await walk(root, full, out);
    } else if (entry.isFile()) {
      const type = CONTENT_TYPES[extname(entry.name).toLowerCase()];
      if (!type) continue;
      if (out.size >= MAX_FILES) throw new Error(`static site ${root}: more than ${MAX_FILES} files`);
      const urlPath = '/' + relative(root, full).split(sep).join('/');
      out.set(urlPath, { path: full, size: (await stat(full)).size, contentType: type });
    }
  }
}

/** Lists `root` once; files added later are not served (restart the host after a build). */
export async function createStaticSite(root: string, opts: { index?: string } = {}): Promise<StaticSite> {
  const files = new Map<string, StaticFile>();
  await walk(root, root, files);
  const index = opts.index ?? '/index.html';
  return {
    paths: [...files.keys()].sort(),
    handle(req, res, pathname, headers = {}) {
      const file = files.get(pathname === '/' ? index : pathname);
      if (!file) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end();
        return true;
      }
      // Hashed assets never change; the HTML must be re-read after an update.
      const immutable = pathname.startsWith('/assets/');
      res.writeHead(200, {
        ...headers,
        'content-type': file.contentType,
        'content-length': String(file.size),
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
      if (req.method === 'HEAD') {
        res.end();
        return true;
      }
      const stream = createReadStream(file.path);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
      return true;
    },
  };
}
