import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import {
  createApiClient,
  createFetchTransport,
  endpointUrl,
  endpoints,
  serverRootOf,
  type BackendApiClient,
  type CallInput,
  type Endpoints,
  type HttpMethod,
  type OperationId,
} from '@airpanel/contract/api';
import { createBackend, type Backend, type BackendOptions } from './backend.js';
import { silentLogger } from './logger.js';

/**
 * Helpers for the backend's own tests: a real backend on 127.0.0.1:0 over a temp data dir
 * (`useTestBackend`), and the API called by operation id through the contract's endpoint
 * table (`testApi`), so no test builds an `/api/v1` URL itself.
 */

export function makeTempDir(prefix = 'airpanel-backend-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startTestBackend(dataDir: string, overrides: Partial<BackendOptions> = {}): Promise<Backend> {
  return createBackend({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    mqtt: { mode: 'none' },
    logger: silentLogger,
    startLoops: false,
    ...overrides,
  });
}

// ---- the API by operation id ----

const transport = createFetchTransport();

/** Large enough for any answer a test reads (a fleet listing, a screenshot). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface TestAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when there is none or it is not JSON. */
  json: unknown;
  /** The body as received (a PNG, a bundle). */
  bytes: Uint8Array;
}

/** What a request sends besides its operation: the inputs the endpoint declares, credentials, extra headers. */
interface RequestExtras {
  /** Sent as `Authorization: Bearer <token>`; none when absent. */
  token?: string;
  /** Extra request headers (lower-case); they win over the defaults (e.g. a wrong content-type). */
  headers?: Record<string, string>;
  /**
   * A body sent as these bytes or this text, not checked against the contract: malformed
   * JSON, a shape the schema refuses, a body above the size cap. Content type JSON unless
   * `headers` says otherwise.
   */
  rawBody?: string | Uint8Array;
}

/**
 * One operation's inputs as the endpoint declares them (typed path parameters, query and
 * body), the body optional so a test can send none.
 */
export type RequestInput<K extends OperationId> = Pick<CallInput<Endpoints[K]>, 'params'> &
  Partial<Pick<CallInput<Endpoints[K]>, 'query' | 'body'>> &
  RequestExtras;

/** A route that is not in the endpoint table (what the router answers for an unknown path). */
export interface OffTableRoute {
  method: HttpMethod;
  path: `/${string}`;
}

/** The input may be left out when the operation has no path parameters. */
type RequestArgs<K extends OperationId> = undefined extends CallInput<Endpoints[K]>['params']
  ? [input?: RequestInput<K>]
  : [input: RequestInput<K>];

export interface BackendTestApi {
  /**
   * Calls one operation by its id and returns the answer whatever its status, the body not
   * judged: what a test of refusals (401, 403, 400, 409, 413…) and headers reads.
   */
  <K extends OperationId>(operation: K, ...input: RequestArgs<K>): Promise<TestAnswer>;
  /** A request to a path outside the endpoint table. */
  (route: OffTableRoute, input?: RequestExtras & { query?: Record<string, string | number | boolean> }): Promise<TestAnswer>;
  /** The server root. */
  readonly baseUrl: string;
  /** The contract's typed client (inputs and answers checked against the contract) with a bearer, or none. */
  client(bearer?: string | null): BackendApiClient;
  /** The typed client with the backend's admin token (only when `testApi` was given the backend). */
  readonly admin: BackendApiClient;
}

/** Sends one request and reads its answer whatever the status, with the contract's fetch transport. */
async function sendUnjudged(
  method: HttpMethod,
  url: string,
  input: RequestExtras & { body?: unknown },
  binaryType = 'application/octet-stream',
): Promise<TestAnswer> {
  const headers: Record<string, string> = {};
  if (input.token) headers.authorization = `Bearer ${input.token}`;
  let body: string | Uint8Array | undefined;
  if (input.rawBody !== undefined) {
    body = input.rawBody;
    headers['content-type'] = 'application/json';
  } else if (input.body instanceof Uint8Array) {
    body = input.body;
    headers['content-type'] = binaryType;
  } else if (input.body !== undefined) {
    body = JSON.stringify(input.body);
    headers['content-type'] = 'application/json';
  }
  Object.assign(headers, input.headers);
  const answer = await transport.send({
    method,
    url,
    headers,
    ...(body === undefined ? {} : { body }),
    timeoutMs: 30_000,
    maxResponseBytes: MAX_ANSWER_BYTES,
  });
  const text = new TextDecoder().decode(answer.body);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: answer.status, headers: new Headers(answer.headers), text, json, bytes: answer.body };
}

/**
 * The backend's API for a test: `api('getDisplay', { params: { panelId }, token })` for the
 * status and body as they come, `api.admin.call('createPanel', { body })` for the typed answer
 * of a call that must succeed. URLs come from the endpoint table (`endpointUrl`).
 */
export function testApi(target: string | Pick<Backend, 'url' | 'adminToken'>): BackendTestApi {
  const baseUrl = serverRootOf(typeof target === 'string' ? target : target.url);
  const adminToken = typeof target === 'string' ? null : target.adminToken;
  const clients = new Map<string, BackendApiClient>();
  const client = (bearer?: string | null): BackendApiClient => {
    const key = bearer ?? '';
    let found = clients.get(key);
    if (!found) {
      found = createApiClient({ baseUrl, credentials: bearer ? { bearer } : null, transport, maxResponseBytes: MAX_ANSWER_BYTES });
      clients.set(key, found);
    }
    return found;
  };

  const request = (
    operation: OperationId | OffTableRoute,
    input: RequestExtras & { params?: unknown; query?: unknown; body?: unknown } = {},
  ): Promise<TestAnswer> => {
    const endpoint = typeof operation === 'string' ? endpoints[operation] : operation;
    const url = endpointUrl(
      baseUrl,
      endpoint,
      (input.params ?? {}) as Record<string, unknown>,
      (input.query ?? {}) as Record<string, unknown>,
    );
    const binaryType = 'binaryBody' in endpoint && endpoint.binaryBody ? endpoint.binaryBody.mediaType : 'application/octet-stream';
    return sendUnjudged(endpoint.method, url, input, binaryType);
  };

  // defineProperties, not Object.assign: `admin` stays a getter, read only when used.
  return Object.defineProperties(request as BackendTestApi, {
    baseUrl: { value: baseUrl },
    client: { value: client },
    admin: {
      get(): BackendApiClient {
        if (adminToken === null) throw new Error('testApi was given a URL, not a backend: it knows no admin token');
        return client(adminToken);
      },
    },
  });
}

// ---- one backend over a temp dir, per test or per suite ----

export interface TestBackendFixture {
  /** The data dir (fresh for each test, or for the suite with `per: 'suite'`). */
  readonly dir: string;
  /** The running backend; throws when none is. */
  readonly backend: Backend;
  /** The API of the running backend. */
  readonly api: BackendTestApi;
  /** Starts a backend over `dir` (the fixture's options, then these); one at a time. */
  start(overrides?: Partial<BackendOptions>): Promise<Backend>;
  /** Closes the running backend (the fixture does it after the test too). */
  stop(): Promise<void>;
  /** Closes it and starts another over the same data dir. */
  restart(overrides?: Partial<BackendOptions>): Promise<Backend>;
}

/**
 * A temp data dir and at most one backend over it for each test of the calling describe (or
 * file), closed and removed after the test; with `per: 'suite'`, once for all its tests.
 * Call it at the top of a describe; start the backend in the test or a before hook.
 */
export function useTestBackend(defaults: Partial<BackendOptions> = {}, o: { per?: 'test' | 'suite' } = {}): TestBackendFixture {
  let temp: ReturnType<typeof makeTempDir> | null = null;
  let running: Backend | null = null;
  let api: BackendTestApi | null = null;
  const [before, after] = o.per === 'suite' ? [beforeAll, afterAll] : [beforeEach, afterEach];

  const stop = async (): Promise<void> => {
    const backend = running;
    running = null;
    api = null;
    await backend?.close();
  };
  const start = async (overrides: Partial<BackendOptions> = {}): Promise<Backend> => {
    if (running) throw new Error('a test backend is running already: stop() it first');
    running = await startTestBackend(fixture.dir, { ...defaults, ...overrides });
    api = testApi(running);
    return running;
  };

  before(() => {
    temp = makeTempDir();
  });
  after(async () => {
    await stop();
    temp?.remove();
    temp = null;
  });

  const fixture: TestBackendFixture = {
    get dir() {
      if (!temp) throw new Error('no temp dir outside a test of the describe that called useTestBackend');
      return temp.dir;
    },
    get backend() {
      if (!running) throw new Error('no test backend is running: start() it first');
      return running;
    },
    get api() {
      if (!api) throw new Error('no test backend is running: start() it first');
      return api;
    },
    start,
    stop,
    restart: async (overrides) => {
      await stop();
      return start(overrides);
    },
  };
  return fixture;
}
