import type { z } from 'zod';
import { ApiError } from '../product/primitives.js';
import {
  ApiTransportError,
  type AbortSignalLike,
  type ApiTransport,
  type ApiTransportFailure,
  type TransportBody,
} from './client-transport.js';
import { API_PREFIX, fillPath, type Endpoint, type NamedSchema } from './endpoint.js';

/**
 * One typed HTTP client for the whole API, derived from the endpoint table: which operations
 * exist, their path parameters, query, body and answers. A call validates what it sends with
 * the endpoint's schemas before sending it and validates the answer with the schema declared
 * for its status, so neither side believes a shape the contract does not describe. URLs are
 * built here and nowhere else (`endpointUrl`).
 */

type Schema = z.ZodType;
/** A schema as such, or with the name it has in the OpenAPI document (`{ name, schema }`). */
type SchemaRef = Schema | NamedSchema;

/** What the client reads of an endpoint declaration (every `Endpoint` of the table fits). */
export type ClientEndpoint = Pick<Endpoint, 'method' | 'path' | 'params' | 'query' | 'body' | 'binaryBody' | 'responses'>;

export type EndpointTable = { readonly [operationId: string]: ClientEndpoint };

type SchemaOf<R> = R extends { readonly schema: infer S extends Schema } ? S : R extends Schema ? R : never;

/** A binary body: bytes, or bytes streamed as read (a large file). */
export type BinaryBody = Uint8Array | AsyncIterable<Uint8Array>;

/** What a call takes: the path parameters, query and body its endpoint declares (no more). */
export type CallInput<E extends ClientEndpoint> = (E extends { readonly params: Schema }
  ? { params: z.input<E['params']> }
  : { params?: undefined }) &
  (E extends { readonly query: Schema } ? { query?: z.input<E['query']> } : { query?: undefined }) &
  (E extends { readonly body: SchemaRef }
    ? { body: z.input<SchemaOf<E['body']>> }
    : E extends { readonly binaryBody: object }
      ? { body: BinaryBody }
      : { body?: undefined });

/** The statuses a call returns as answers; any other one is an ApiCallError (`refused`). */
export type AnswerStatus = 200 | 201 | 202 | 203 | 204 | 205 | 206 | 304;

type BodyOf<R, S> = R extends { readonly schema: SchemaRef }
  ? z.output<SchemaOf<R['schema']>>
  : R extends { readonly mediaType: infer M extends string }
    ? M extends `text/${string}`
      ? string
      : M extends `application/json${string}`
        ? unknown
        : Uint8Array
    : S extends 204 | 205 | 304
      ? undefined
      : unknown;

type Responses<E extends ClientEndpoint> = E['responses'];

/** One answer per declared 2xx/304 status, discriminated by `status`. */
export type ApiAnswer<E extends ClientEndpoint> = {
  [S in keyof Responses<E> & AnswerStatus]: { status: S; headers: Record<string, string>; body: BodyOf<Responses<E>[S], S> };
}[keyof Responses<E> & AnswerStatus];

/** An answer's bytes as received (`sendRaw`). */
export interface RawAnswer<S extends number = number> {
  status: S;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface CallOptions {
  /** Extra request headers (lower-case), e.g. `if-none-match` for a conditional GET. */
  headers?: Record<string, string>;
  signal?: AbortSignalLike;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

/** Credentials sent with every call of a client: the admin token or a panel's API key. */
export interface ApiCredentials {
  bearer: string;
}

export interface ApiClientOptions<T extends EndpointTable> {
  endpoints: T;
  /**
   * The server root (`https://host[:port][/prefix]`); a versioned API root such as the
   * `apiBaseUrl` of panel.json (`…/api/v1`) is accepted and means the same server.
   */
  baseUrl: string;
  credentials?: ApiCredentials | null;
  transport: ApiTransport;
  /** Defaults for every call: 15 s, 1 MiB. */
  timeoutMs?: number;
  maxResponseBytes?: number;
}

type Args<E extends ClientEndpoint> =
  object extends CallInput<E> ? [input?: CallInput<E>, options?: CallOptions] : [input: CallInput<E>, options?: CallOptions];

export interface ApiClient<T extends EndpointTable> {
  /** The server root every URL is built on. */
  readonly baseUrl: string;
  /** The answer (status, headers, typed body) of a declared 2xx/304 status; throws ApiCallError otherwise. */
  send<K extends keyof T & string>(operation: K, ...args: Args<T[K]>): Promise<ApiAnswer<T[K]>>;
  /**
   * As `send`, but the body comes back as the bytes received, not judged against the schema:
   * for a caller that judges them itself (the panel's document gate, which takes documents
   * from MQTT and HTTP alike). Refused and undeclared statuses still throw.
   */
  sendRaw<K extends keyof T & string>(operation: K, ...args: Args<T[K]>): Promise<RawAnswer<keyof T[K]['responses'] & AnswerStatus>>;
  /** The body of the answer (`send(...).body`). */
  call<K extends keyof T & string>(operation: K, ...args: Args<T[K]>): Promise<ApiAnswer<T[K]>['body']>;
  /** The URL of an operation, for what is not a call of this client (a link shown to a person, a stream). */
  url<K extends keyof T & string>(
    operation: K,
    params?: CallInput<T[K]>['params'],
    query?: Record<string, string | number | boolean>,
  ): string;
}

export type ApiCallErrorKind =
  /** What the caller asked to send does not match the endpoint's schemas; nothing was sent. */
  | 'invalid-request'
  /** The server answered with a status the call does not take as an answer (4xx, 5xx, …). */
  | 'refused'
  /** The answer's status or body is not what the endpoint declares. */
  | 'invalid-answer'
  /** No answer: network, timeout, aborted, or an answer above the size cap (`transportFailure`). */
  | 'transport';

export class ApiCallError extends Error {
  override name = 'ApiCallError';
  constructor(
    readonly kind: ApiCallErrorKind,
    readonly operationId: string,
    message: string,
    readonly details: {
      status?: number;
      /** The server's error body (`ApiError`) of a refused call, when it sent one. */
      serverError?: ApiError['error'] | null;
      /** For `invalid-answer` and `invalid-request`: what the schema found wrong. */
      issues?: readonly { path: readonly PropertyKey[]; message: string }[];
      /** For `invalid-answer`: the body is not JSON at all (an HTML proxy page, say). */
      notJson?: boolean;
      transportFailure?: ApiTransportFailure;
      /** For `transportFailure: 'too-large'`. */
      bytes?: number | null;
    } = {},
  ) {
    super(message);
  }

  get status(): number | null {
    return this.details.status ?? null;
  }

  get serverError(): ApiError['error'] | null {
    return this.details.serverError ?? null;
  }
}

const HTTP_URL = /^(https?):\/\/([^/?#\s]+)(\/[^?#\s]*)?$/i;

/**
 * The server root of a base URL (`http(s)://host[:port][/prefix]`): trailing slashes and a
 * trailing API prefix (`/api/v1`) taken off, so the server root and the versioned API root
 * both name the same server. Throws a TypeError naming what is wrong.
 */
export function serverRootOf(baseUrl: string): string {
  const match = HTTP_URL.exec(baseUrl.trim());
  if (!match) {
    throw new TypeError(
      /^[a-z][a-z0-9+.-]*:\/\//i.test(baseUrl.trim())
        ? `${JSON.stringify(baseUrl)} is not an http(s) URL`
        : `${JSON.stringify(baseUrl)} is not a URL (e.g. https://airpanel.example.org)`,
    );
  }
  let path = (match[3] ?? '').replace(/\/+$/, '');
  if (path.endsWith(API_PREFIX)) path = path.slice(0, -API_PREFIX.length);
  return `${match[1]!.toLowerCase()}://${match[2]!.toLowerCase()}${path}`;
}

/** `scheme://host[:port]` of a URL this file built. */
function originOf(url: string): string {
  const match = HTTP_URL.exec(url.split('?')[0]!);
  return match ? `${match[1]}://${match[2]}` : url;
}

/** The URL of an endpoint below a server root: path parameters filled in and the query, each encoded. */
export function endpointUrl(
  serverRoot: string,
  endpoint: Pick<ClientEndpoint, 'path'>,
  params: Record<string, unknown> = {},
  query: Record<string, unknown> = {},
): string {
  const path = fillPath(endpoint.path, params as Record<string, string | number>);
  const search = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    .join('&');
  return `${serverRoot.replace(/\/+$/, '')}${path}${search ? `?${search}` : ''}`;
}

function schemaOf(ref: SchemaRef): Schema {
  return 'safeParse' in ref ? ref : ref.schema;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

const textDecoder = new (globalThis as unknown as { TextDecoder: new () => { decode(bytes: Uint8Array): string } }).TextDecoder();

function isAnswerStatus(status: number): boolean {
  return (status >= 200 && status < 300) || status === 304;
}

/** A client for `endpoints` (see `createApiClient` in ./index.ts for the backend's own table). */
export function createEndpointClient<T extends EndpointTable>(options: ApiClientOptions<T>): ApiClient<T> {
  const root = serverRootOf(options.baseUrl);
  const defaults = { timeoutMs: options.timeoutMs ?? 15_000, maxResponseBytes: options.maxResponseBytes ?? 1024 * 1024 };

  const endpointOf = (operation: string): ClientEndpoint => {
    const endpoint = options.endpoints[operation];
    if (!endpoint) throw new ApiCallError('invalid-request', operation, `no operation ${operation} in the endpoint table`);
    return endpoint;
  };

  const validated = (operation: string, what: string, schema: Schema | undefined, value: unknown): unknown => {
    if (!schema) return value ?? {};
    const parsed = schema.safeParse(value ?? {});
    if (!parsed.success)
      throw new ApiCallError('invalid-request', operation, `${operation}: ${what} invalid: ${describeIssues(parsed.error)}`, {
        issues: parsed.error.issues,
      });
    return parsed.data;
  };

  async function exchange(
    operation: string,
    input: { params?: unknown; query?: unknown; body?: unknown } = {},
    callOptions: CallOptions = {},
  ): Promise<{ endpoint: ClientEndpoint; status: number; headers: Record<string, string>; bytes: Uint8Array }> {
    const endpoint = endpointOf(operation);
    const params = validated(operation, 'path parameters', endpoint.params, input.params) as Record<string, unknown>;
    validated(operation, 'query', endpoint.query, input.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.credentials) headers.authorization = `Bearer ${options.credentials.bearer}`;
    let body: TransportBody | undefined;
    if (endpoint.body) {
      validated(operation, 'body', schemaOf(endpoint.body), input.body);
      body = JSON.stringify(input.body);
      headers['content-type'] = 'application/json';
    } else if (endpoint.binaryBody) {
      const binary = input.body as BinaryBody | undefined;
      if (binary === undefined)
        throw new ApiCallError('invalid-request', operation, `${operation}: a ${endpoint.binaryBody.mediaType} body is required`);
      if (binary instanceof Uint8Array && binary.byteLength > endpoint.binaryBody.maxBytes) {
        throw new ApiCallError(
          'invalid-request',
          operation,
          `${operation}: body of ${binary.byteLength} bytes, more than the ${endpoint.binaryBody.maxBytes} the endpoint takes`,
        );
      }
      body = binary;
      headers['content-type'] = endpoint.binaryBody.mediaType;
    }
    Object.assign(headers, callOptions.headers);
    const url = endpointUrl(root, endpoint, params, (input.query ?? {}) as Record<string, unknown>);

    let answer;
    try {
      answer = await options.transport.send({
        method: endpoint.method,
        url,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(callOptions.signal ? { signal: callOptions.signal } : {}),
        timeoutMs: callOptions.timeoutMs ?? defaults.timeoutMs,
        maxResponseBytes: callOptions.maxResponseBytes ?? defaults.maxResponseBytes,
      });
    } catch (error) {
      const failure =
        error instanceof ApiTransportError ? error : new ApiTransportError('network', (error as Error).message ?? String(error));
      throw new ApiCallError('transport', operation, `${operation}: no answer from ${originOf(url)}: ${failure.message}`, {
        transportFailure: failure.code,
        bytes: failure.bytes,
      });
    }
    return { endpoint, status: answer.status, headers: answer.headers, bytes: answer.body };
  }

  async function send(
    operation: string,
    input?: { params?: unknown; query?: unknown; body?: unknown },
    callOptions?: CallOptions,
  ): Promise<{ status: number; headers: Record<string, string>; body: unknown }> {
    const answer = await exchange(operation, input, callOptions);
    return { status: answer.status, headers: answer.headers, body: decodeAnswer(operation, answer.endpoint, answer.status, answer.bytes) };
  }

  async function sendRaw(
    operation: string,
    input?: { params?: unknown; query?: unknown; body?: unknown },
    callOptions?: CallOptions,
  ): Promise<RawAnswer> {
    const answer = await exchange(operation, input, callOptions);
    if (!isAnswerStatus(answer.status)) decodeAnswer(operation, answer.endpoint, answer.status, answer.bytes);
    if (!answer.endpoint.responses[answer.status]) {
      throw new ApiCallError(
        'invalid-answer',
        operation,
        `${operation}: the server answered ${answer.status}, a status the endpoint does not declare`,
        { status: answer.status },
      );
    }
    return { status: answer.status, headers: answer.headers, body: answer.bytes };
  }

  return {
    baseUrl: root,
    send: send as unknown as ApiClient<T>['send'],
    sendRaw: sendRaw as ApiClient<T>['sendRaw'],
    call: (async (operation: string, input?: object, callOptions?: CallOptions) =>
      (await send(operation, input, callOptions)).body) as unknown as ApiClient<T>['call'],
    url: (operation, params, query) => endpointUrl(root, endpointOf(operation), (params ?? {}) as Record<string, unknown>, query ?? {}),
  };
}

function decodeAnswer(operation: string, endpoint: ClientEndpoint, status: number, bytes: Uint8Array): unknown {
  const declared = endpoint.responses[status];
  if (!isAnswerStatus(status)) {
    const serverError = ApiError.safeParse(parseJson(bytes));
    const reason = serverError.success ? `${serverError.data.error.code}: ${serverError.data.error.message}` : `HTTP ${status}`;
    throw new ApiCallError('refused', operation, `${operation} refused (${status}): ${reason}`, {
      status,
      serverError: serverError.success ? serverError.data.error : null,
    });
  }
  if (!declared)
    throw new ApiCallError(
      'invalid-answer',
      operation,
      `${operation}: the server answered ${status}, a status the endpoint does not declare`,
      { status },
    );
  if (declared.schema) {
    const json = parseJson(bytes);
    if (json === NOT_JSON)
      throw new ApiCallError('invalid-answer', operation, `${operation}: the ${status} answer is not JSON`, { status, notJson: true });
    const parsed = schemaOf(declared.schema).safeParse(json);
    if (!parsed.success) {
      throw new ApiCallError(
        'invalid-answer',
        operation,
        `${operation}: the ${status} answer does not match the contract: ${describeIssues(parsed.error)}`,
        { status, issues: parsed.error.issues },
      );
    }
    return parsed.data;
  }
  if (declared.mediaType !== undefined && !declared.mediaType.startsWith('application/json')) {
    return declared.mediaType.startsWith('text/') ? textDecoder.decode(bytes) : bytes;
  }
  if (bytes.byteLength === 0) return undefined;
  const json = parseJson(bytes);
  if (json === NOT_JSON)
    throw new ApiCallError('invalid-answer', operation, `${operation}: the ${status} answer is not JSON`, { status, notJson: true });
  return json;
}

const NOT_JSON = Symbol('not JSON');

function parseJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return NOT_JSON;
  try {
    return JSON.parse(textDecoder.decode(bytes)) as unknown;
  } catch {
    return NOT_JSON;
  }
}
