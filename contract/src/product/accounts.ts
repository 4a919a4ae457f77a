import { z } from 'zod';
import { IsoDateTime, shortText } from './primitives.js';

/**
 * Accounts of the backoffice: users with a role, their sessions, and the audit log of every
 * change made through the API.
 *
 * What a role may do: `admin` everything (users included); `operator` panels, content sets,
 * level schemes, sensor sources, commands and readings; `release-manager` release channels
 * (upload, publish, pause, resume); `viewer` nothing but reading. Every role reads everything.
 */
export const ROLES = ['viewer', 'operator', 'release-manager', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/**
 * Whether a user of role `has` may call an operation that needs `needs`. Not a ladder:
 * an operator may not run releases and a release manager may not edit content; admin may all,
 * and every role may do what a viewer may.
 */
export function roleSatisfies(has: Role, needs: Role): boolean {
  return has === 'admin' || needs === 'viewer' || has === needs;
}

/** The request header that carries the session's CSRF token on every state-changing request made with the session cookie. */
export const CSRF_HEADER = 'x-csrf-token';
/** The name of the session cookie (HttpOnly, SameSite=Strict, Path=/; Secure under HTTPS). */
export const SESSION_COOKIE = 'airpanel_session';

/** A user's login name: lowercase letters, digits, `.`, `_` and `-`, 2 to 64 characters. */
export const UserName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{1,63}$/, 'lowercase letters, digits, ".", "_" and "-", 2 to 64 characters, starting with a letter or digit');
export type UserName = z.infer<typeof UserName>;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * Why a new password is refused, or null when it is acceptable: at least 12 characters and
 * not a run of a few repeated characters ("aaaaaaaaaaaa", "abababababab").
 */
export function passwordWeakness(password: string, userName?: string): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `a password needs at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `a password has at most ${PASSWORD_MAX_LENGTH} characters`;
  if (new Set(password).size < 5) return 'a password needs at least 5 different characters';
  if (userName && password.toLowerCase().includes(userName.toLowerCase())) return 'a password may not contain the user name';
  return null;
}

/** A password being set (create, change): the strength rules above. */
export const NewPassword = z.string().superRefine((value, ctx) => {
  const weakness = passwordWeakness(value);
  if (weakness) ctx.addIssue({ code: 'custom', message: weakness });
});

/** A password being checked at login: any string up to a bound, so the answer says nothing about the rules. */
export const LoginPassword = z.string().min(1).max(1024);

export const LoginBody = z.object({ name: z.string().min(1).max(64), password: LoginPassword });
export type LoginBody = z.infer<typeof LoginBody>;

/** The session a request runs in: who, with what role, its CSRF token and when it ends. */
export const SessionInfo = z.object({
  userName: UserName,
  role: Role,
  /** Send it as the `x-csrf-token` header on every non-GET request made with the session cookie. */
  csrfToken: z.string().min(16).max(128),
  /** The session ends at this time unless a request comes before (each request moves it). */
  idleExpiresAt: IsoDateTime,
  /** The session ends at this time whatever happens. */
  absoluteExpiresAt: IsoDateTime,
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const User = z.object({
  name: UserName,
  role: Role,
  disabled: z.boolean(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  lastLoginAt: IsoDateTime.nullable(),
  /** Set while the account is locked after repeated wrong passwords. */
  lockedUntil: IsoDateTime.nullable(),
});
export type User = z.infer<typeof User>;

export const UserCreateBody = z.object({ name: UserName, role: Role, password: NewPassword });
export type UserCreateBody = z.infer<typeof UserCreateBody>;

/** A change of a user: its role, disabled or not, a new password; a disable or password change ends its sessions. */
export const UserUpdateBody = z
  .object({ role: Role.optional(), disabled: z.boolean().optional(), password: NewPassword.optional() })
  .refine(
    (body) => body.role !== undefined || body.disabled !== undefined || body.password !== undefined,
    'change at least one of role, disabled, password',
  );
export type UserUpdateBody = z.infer<typeof UserUpdateBody>;

/**
 * A user's API token, for scripts: sent as `Authorization: Bearer <token>`, it acts with its
 * user's role (no CSRF header needed). Shown once when made; stored as a SHA-256 digest.
 */
export const ApiToken = z.object({
  id: z.string().regex(/^tok_[a-z0-9]{12}$/),
  userName: UserName,
  label: shortText(80),
  createdAt: IsoDateTime,
  lastUsedAt: IsoDateTime.nullable(),
  /** After this time the token is refused (null: until deleted). */
  expiresAt: IsoDateTime.nullable(),
});
export type ApiToken = z.infer<typeof ApiToken>;

export const ApiTokenCreateBody = z.object({
  label: shortText(80),
  /** Days until it expires; absent: until deleted. */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export type ApiTokenCreateBody = z.infer<typeof ApiTokenCreateBody>;

/** The answer to making a token: the token itself, shown this once. */
export const ApiTokenIssue = ApiToken.extend({ token: z.string().min(32).max(128) });
export type ApiTokenIssue = z.infer<typeof ApiTokenIssue>;

/** Who made a change: a user by session (or API token), the admin token, a panel by its key, or the backend itself. */
export const AuditActor = z.object({
  kind: z.enum(['user', 'admin-token', 'panel', 'system']),
  name: z.string().max(128),
});
export type AuditActor = z.infer<typeof AuditActor>;

/** What a change was made to: a resource type (`panel`, `content-set`, `user`…) and its id when it has one. */
export const AuditObject = z.object({
  type: z.string().min(1).max(64),
  id: z.string().max(256).nullable(),
});
export type AuditObject = z.infer<typeof AuditObject>;

/** One change recorded in the audit log. */
export const AuditEntry = z.object({
  id: z.number().int().positive(),
  at: IsoDateTime,
  actor: AuditActor,
  /** The operationId of the request that made the change (`replaceContentSet`). */
  action: z.string().min(1).max(128),
  object: AuditObject,
  /** The object as JSON before the change (null when it did not exist or is not recorded). */
  before: z.unknown(),
  /** The object as JSON after the change (null when it was deleted or is not recorded). */
  after: z.unknown(),
  summary: shortText(500),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Filters of the audit log, newest first; `before` is an entry id, for the next page. */
export const AuditQuery = z.object({
  user: z.string().min(1).max(128).optional(),
  objectType: z.string().min(1).max(64).optional(),
  objectId: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().positive().optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;
