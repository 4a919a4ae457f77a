import { z } from 'zod';
import {
  AuditEntry,
  AuditQuery,
  CSRF_HEADER,
  LoginBody,
  SESSION_COOKIE,
  SessionInfo,
  User,
  UserCreateBody,
  UserName,
  UserUpdateBody,
} from '../product/accounts.js';
import { apiPath, endpoint, errors, named } from './endpoint.js';

export const UserParams = z.object({ userName: UserName });
const user = named('User', User);
const sessionInfo = named('SessionInfo', SessionInfo);

export const accountEndpoints = {
  login: endpoint({
    method: 'POST',
    path: apiPath('/session'),
    operationId: 'login',
    tag: 'accounts',
    auth: 'none',
    summary: 'Log in: opens a session and sets its cookie',
    description:
      `The answer sets the \`${SESSION_COOKIE}\` cookie (HttpOnly, SameSite=Strict). Every non-GET request made with it must carry ` +
      `the \`${CSRF_HEADER}\` header with the answer's csrfToken. A wrong name or password gives the same 401; after repeated ` +
      'wrong passwords the account is locked for a while (429 with Retry-After).',
    body: named('LoginBody', LoginBody),
    responses: {
      200: { description: 'Logged in', schema: sessionInfo, headers: { 'Set-Cookie': 'The session cookie' } },
      ...errors(400, 401, 429),
    },
  }),
  getSession: endpoint({
    method: 'GET',
    path: apiPath('/session'),
    operationId: 'getSession',
    tag: 'accounts',
    auth: 'viewer',
    summary: 'The session of the cookie: who, which role, its CSRF token and expiries',
    description: 'Also moves the idle expiry. A request made with a bearer token has no session: 401.',
    responses: { 200: { description: 'The session', schema: sessionInfo }, ...errors(401) },
  }),
  logout: endpoint({
    method: 'DELETE',
    path: apiPath('/session'),
    operationId: 'logout',
    tag: 'accounts',
    auth: 'viewer',
    summary: 'Log out: ends the session and clears its cookie',
    responses: { 204: { description: 'Logged out', headers: { 'Set-Cookie': 'The cleared cookie' } }, ...errors(401, 403) },
  }),
  listUsers: endpoint({
    method: 'GET',
    path: apiPath('/users'),
    operationId: 'listUsers',
    tag: 'accounts',
    auth: 'admin',
    summary: 'Users, by name',
    responses: { 200: { description: 'Users', schema: named('UserList', z.array(User)) }, ...errors(401, 403) },
  }),
  createUser: endpoint({
    method: 'POST',
    path: apiPath('/users'),
    operationId: 'createUser',
    tag: 'accounts',
    auth: 'admin',
    summary: 'Add a user with a role and a password',
    body: named('UserCreateBody', UserCreateBody),
    responses: { 201: { description: 'Created', schema: user }, ...errors(400, 401, 403, 409) },
  }),
  updateUser: endpoint({
    method: 'PATCH',
    path: apiPath('/users/{userName}'),
    operationId: 'updateUser',
    tag: 'accounts',
    auth: 'admin',
    summary: "Change a user's role, disable or enable it, or set a new password",
    description: 'Disabling a user or changing its password ends its sessions; enabling it clears a lockout.',
    params: UserParams,
    body: named('UserUpdateBody', UserUpdateBody),
    responses: { 200: { description: 'The user now', schema: user }, ...errors(400, 401, 403, 404) },
  }),
  listAudit: endpoint({
    method: 'GET',
    path: apiPath('/audit'),
    operationId: 'listAudit',
    tag: 'accounts',
    auth: 'viewer',
    summary: 'The audit log, newest first: who changed what, when, before → after',
    description: 'Filter by actor name (`user`), object type and id; page with `before` = the id of the last entry seen.',
    query: AuditQuery,
    responses: { 200: { description: 'Entries', schema: named('AuditEntryList', z.array(AuditEntry)) }, ...errors(400, 401, 403) },
  }),
};
