import type { z } from 'zod';
import type { Role } from '../product/accounts.js';
import { ApiError } from '../product/primitives.js';

/**
 * How an operation of the backend's HTTP API is declared: everything a router, an OpenAPI
 * document and a typed client need, and nothing that runs it. The backend binds a handler to
 * each declaration; clients build their requests and read their answers from the same one.
 */

/** Where every versioned route of the API lives. */
export const API_PREFIX = '/api/v1';

/** An OpenAPI-style path template under the API prefix: `apiPath('/panels/{panelId}')`. */
export function apiPath<const P extends `/${string}`>(path: P): `${typeof API_PREFIX}${P}` {
  return `${API_PREFIX}${path}`;
}

/** The path parameters of a template, e.g. `'panelId' | 'commandId'`. */
export type PathParamNames<P extends string> = P extends `${string}{${infer Name}}${infer Rest}` ? Name | PathParamNames<Rest> : never;

/**
 * A path template with its parameters filled in, each URI-encoded:
 * `fillPath('/api/v1/panels/{panelId}', { panelId: 'p 1' })` → `/api/v1/panels/p%201`.
 */
export function fillPath<P extends string>(template: P, params: Record<PathParamNames<P>, string | number>): string {
  return template.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (_match, name: string) => {
    const value = (params as Record<string, string | number | undefined>)[name];
    if (value === undefined) throw new Error(`path ${template} needs the parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

/**
 * Who may call an operation: anybody (`'none'`), or a principal with the role it names (see
 * `roleSatisfies`: admin may all, every role may what a viewer may). The admin token counts as
 * admin. `{ role, orOwnPanel: true }` also lets in the API key of the panel named by the
 * `panelId` path parameter (another panel's key: 403); a panel's key reaches nothing else.
 */
export type EndpointAuth = 'none' | Role | { role: Role; orOwnPanel: true };

/** `auth` for an operation a panel calls on itself and users of `role` may call on any panel. */
export function ownPanelOr<const R extends Role>(role: R): { role: R; orOwnPanel: true } {
  return { role, orOwnPanel: true };
}

/** The role an operation needs, or null when it needs no credentials. */
export function requiredRole(auth: EndpointAuth): Role | null {
  if (auth === 'none') return null;
  return typeof auth === 'string' ? auth : auth.role;
}

/** Whether the key of the panel named by `panelId` may call the operation. */
export function allowsOwnPanel(auth: EndpointAuth): boolean {
  return typeof auth === 'object' && auth.orOwnPanel;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The groups of the OpenAPI document, in the order it lists them. */
export const API_TAGS = [
  'operations',
  'panels',
  'display',
  'commands',
  'sensors',
  'content',
  'levels',
  'releases',
  'accounts',
  'alerts',
  'events',
] as const;
export type ApiTag = (typeof API_TAGS)[number];

/** A schema with the name it has under `components.schemas` in the OpenAPI document. */
export interface NamedSchema<S extends z.ZodType = z.ZodType, N extends string = string> {
  name: N;
  schema: S;
}

export function named<const N extends string, S extends z.ZodType>(name: N, schema: S): NamedSchema<S, N> {
  return { name, schema };
}

export interface ResponseDeclaration {
  description: string;
  /** A JSON answer of this shape. */
  schema?: NamedSchema;
  /** A non-JSON answer (Prometheus text, a PNG, a gzip bundle), by its media type. */
  mediaType?: string;
  /** Answer headers worth knowing, by name. */
  headers?: Record<string, string>;
}

/** A request header an operation reads (If-None-Match, a checksum header). */
export interface RequestHeaderDeclaration {
  name: string;
  required: boolean;
  description: string;
}

/** A body that is not JSON: bytes of one media type, at most `maxBytes`. */
export interface BinaryBodyDeclaration {
  mediaType: 'image/png' | 'application/octet-stream';
  maxBytes: number;
  description: string;
  /** The handler reads the request stream itself (a bundle is written to disk as it arrives). */
  streamed?: boolean;
}

type ObjectSchema = z.ZodType<Record<string, unknown>>;

/** One operation of the API. */
export interface Endpoint {
  method: HttpMethod;
  /** OpenAPI-style template, e.g. `/api/v1/panels/{panelId}` (built with `apiPath`). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: ApiTag;
  auth: EndpointAuth;
  params?: ObjectSchema;
  query?: ObjectSchema;
  /** A JSON body (validated against the schema before the handler runs). */
  body?: NamedSchema;
  binaryBody?: BinaryBodyDeclaration;
  requestHeaders?: readonly RequestHeaderDeclaration[];
  responses: Readonly<Record<number, ResponseDeclaration>>;
}

/** Keeps every literal of a declaration (method, path, schemas) in its type. */
export function endpoint<const E extends Endpoint>(declaration: E): E {
  return declaration;
}

export const ApiErrorSchema = named('ApiError', ApiError);

const ERROR_DESCRIPTIONS = {
  400: 'Invalid request: malformed JSON, or a body, parameter or query that does not match the schema',
  401: 'Missing, unknown or expired credentials',
  403: 'The credentials are valid but do not give access to this resource (the role it needs, a missing CSRF token)',
  404: 'No such resource',
  409: 'Conflict with the current state (id taken, resource in use, not a simulated source)',
  413: 'Body larger than the limit',
  416: 'The requested byte range is outside the resource',
  429: 'Too many failed logins: the account is locked until the time in Retry-After',
  503: 'A dependency (the MQTT broker) is unavailable',
} as const;
export type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** The ApiError answers an operation can give, each with its usual description. */
export function errors<const C extends readonly ErrorStatus[]>(
  ...codes: C
): { [K in C[number]]: { description: string; schema: typeof ApiErrorSchema } } {
  return Object.fromEntries(codes.map((code) => [code, { description: ERROR_DESCRIPTIONS[code], schema: ApiErrorSchema }])) as {
    [K in C[number]]: { description: string; schema: typeof ApiErrorSchema };
  };
}

/** An operation's request and answer types, for clients and handlers. */
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;
type InferInput<S> = S extends z.ZodType ? z.input<S> : undefined;
export type EndpointParams<E extends Endpoint> = Infer<E['params']>;
/** The query as a caller may send it (defaults optional). */
export type EndpointQueryInput<E extends Endpoint> = InferInput<E['query']>;
export type EndpointQuery<E extends Endpoint> = Infer<E['query']>;
/** The JSON body as a caller may send it (defaults optional). */
export type EndpointBodyInput<E extends Endpoint> = E['body'] extends NamedSchema<infer S> ? z.input<S> : undefined;
export type EndpointBody<E extends Endpoint> = E['body'] extends NamedSchema<infer S> ? z.output<S> : undefined;
/** The JSON answer of one status, or undefined when that status has no JSON body. */
export type EndpointAnswer<E extends Endpoint, Status extends keyof E['responses']> = E['responses'][Status] extends {
  schema: NamedSchema<infer S>;
}
  ? z.output<S>
  : undefined;
/** The statuses of an operation's successful answers. */
export type SuccessStatus<E extends Endpoint> = Extract<keyof E['responses'], 200 | 201 | 202 | 204 | 206 | 304>;
