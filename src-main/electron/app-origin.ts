import { existsSync, realpathSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, sep } from 'node:path';

/**
 * The panel app's own origin. The renderer is served from a privileged custom scheme
 * (`app://panel/…`) rather than file://, so it has a real origin for the CSP ('self'), the
 * IPC sender check and the navigation guard, and cannot read arbitrary files.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'panel';
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * What `protocol.registerSchemesAsPrivileged` grants app://: a standard scheme (relative URLs,
 * a real origin for 'self' and the IPC sender check) and a secure context. Nothing else: the
 * renderer never calls fetch() (no supportFetchAPI), loads its modules, styles and fonts from
 * its own origin only (no corsEnabled, which would let other origins read app:// files), and
 * has no service workers, no CSP bypass and no code cache exemptions.
 */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true } as const;

/** CSP of everything served on app://: bundled code only, no network at all (IPC only). */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "font-src 'self'",
  "img-src 'self' data:",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** True only for URLs of the app's own origin (IPC sender check, navigation guard). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    // WHATWG URL gives custom schemes an opaque origin ("null"): compare the parts.
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '' && u.port === '';
  } catch {
    return false;
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

/**
 * The file under `root` an app:// URL names, or null: wrong origin, an unknown type, a
 * path leaving root (`..`, encoded separators, NUL, symlinks pointing out) or no such file.
 */
export function resolveAppFile(root: string, url: string): { path: string; contentType: string } | null {
  if (!isAppUrl(url)) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url).pathname);
  } catch {
    return null;
  }
  if (pathname === '/' || pathname === '') pathname = '/index.html';
  if (pathname.includes('\0') || pathname.includes('\\') || pathname.split('/').some((seg) => seg === '..')) return null;
  const contentType = CONTENT_TYPES[extname(pathname).toLowerCase()];
  if (!contentType) return null;
  const candidate = join(root, ...pathname.split('/').filter(Boolean));
  if (!inside(root, candidate) || !existsSync(candidate)) return null;
  const real = realpathSync(candidate);
  if (!inside(realpathSync(root), real) || !statSync(real).isFile()) return null;
  return { path: real, contentType };
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
