/**
 * Where to go after logging in: the `next` query when it is a path of this app, the fleet
 * otherwise (never another origin: `//host` or `https://…` would make the login page an open
 * redirect).
 */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/fleet';
  return next;
}
