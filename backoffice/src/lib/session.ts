import { reactive, readonly } from 'vue';
import { roleSatisfies, type Role, type SessionInfo } from '@airpanel/contract';
import { endpoints, requiredRole, type OperationId } from '@airpanel/contract/api';

export interface SessionUser {
  name: string;
  role: Role;
  idleExpiresAt: string;
  absoluteExpiresAt: string;
}

const state = reactive({ user: null as SessionUser | null, checked: false });

/** Who is logged in (null: nobody), and whether the backend was asked yet. */
export const session = readonly(state);

export function setSession(info: SessionInfo | null): void {
  state.user = info
    ? { name: info.userName, role: info.role, idleExpiresAt: info.idleExpiresAt, absoluteExpiresAt: info.absoluteExpiresAt }
    : null;
  state.checked = true;
}

/**
 * Whether the logged-in user's role may call an operation, read from the operation's own
 * declaration in the contract (`auth`): the app hides what the API would refuse anyway.
 */
export function canCall(operation: OperationId): boolean {
  const user = state.user;
  if (!user) return false;
  const needs = requiredRole(endpoints[operation].auth);
  return needs === null || roleSatisfies(user.role, needs);
}
