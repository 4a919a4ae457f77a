import { AuditLog } from '../audit/log.js';
import { createChangeAuditor, type AuditSnapshotLoader } from '../audit/recorder.js';
import { auditRoutes } from '../audit/routes.js';
import type { Clock } from '../clock.js';
import type { Store } from '../db/store.js';
import type { RouterOptions } from '../http/router.js';
import type { BoundRoute } from '../http/route.js';
import type { Logger } from '../logger.js';
import { ApiTokenService } from './api-tokens.js';
import { accountRoutes } from './routes.js';
import { AccountService, DEFAULT_ACCOUNT_POLICY, type AccountPolicy } from './service.js';
import { AccountStore } from './store.js';

export { AccountService, DEFAULT_ACCOUNT_POLICY, LoginLockedError, type AccountPolicy } from './service.js';
export { AccountStore } from './store.js';
export { ApiTokenService } from './api-tokens.js';

export interface AccessControl {
  accounts: AccountService;
  tokens: ApiTokenService;
  audit: AuditLog;
  /** Session, users and audit routes. */
  routes: BoundRoute[];
  /** What the router needs: the session cookie's user, the audit of changes. */
  router: Pick<RouterOptions, 'authenticateSession' | 'authenticateUserToken' | 'audit'>;
}

function policyOf(overrides: Partial<AccountPolicy> = {}): AccountPolicy {
  const policy = { ...DEFAULT_ACCOUNT_POLICY, ...overrides };
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`accounts.${name} must be a positive whole number, got ${value}`);
  }
  if (policy.sessionIdleMs > policy.sessionAbsoluteMs) throw new Error('accounts.sessionIdleMs may not exceed accounts.sessionAbsoluteMs');
  return policy;
}

/** Users, sessions and the audit log over the backend's database, with their routes and the router's hooks. */
export function createAccessControl(o: {
  store: Store;
  clock: Clock;
  logger: Logger;
  policy?: Partial<AccountPolicy>;
  /** Mark the session cookie Secure (the backend serves HTTPS). */
  secureCookies: boolean;
  /** The state of objects before and after a change, by object type; `user` is added here. */
  snapshots: Readonly<Record<string, AuditSnapshotLoader>>;
  /** The same for objects there is one of (`alert-settings`), without secrets. */
  singletons?: Readonly<Record<string, () => unknown>>;
}): AccessControl {
  const accountStore = new AccountStore(o.store);
  const accounts = new AccountService({ store: accountStore, clock: o.clock, policy: policyOf(o.policy) });
  const tokens = new ApiTokenService({ store: o.store, accounts: accountStore, clock: o.clock });
  const audit = new AuditLog({
    store: o.store,
    clock: o.clock,
    onListenerError: (error) => o.logger.error('audit: a listener failed', { error: (error as Error).message }),
  });
  const auditor = createChangeAuditor({
    log: audit,
    snapshots: { ...o.snapshots, user: (name) => accounts.find(name) },
    ...(o.singletons ? { singletons: o.singletons } : {}),
    onError: (error) => o.logger.error('audit: a change could not be recorded', { error: (error as Error).message }),
  });
  return {
    accounts,
    audit,
    tokens,
    routes: [...accountRoutes(accounts, tokens, { secureCookies: o.secureCookies, now: () => o.clock.now() }), ...auditRoutes(audit)],
    router: {
      authenticateSession: (cookieValue) => accounts.authenticate(cookieValue),
      authenticateUserToken: (token) => tokens.authenticate(token),
      audit: auditor,
    },
  };
}
