import type { HttpMethod } from './endpoint.js';

/**
 * What the typed API client (client.ts) needs from HTTP, and the `fetch`-based transport that
 * runs on Node 20 and in browsers. The contract has neither Node nor DOM types, so the few
 * runtime pieces used here (fetch, AbortController, timers) are declared below
 * as the minimal shapes this file relies on and looked up on `globalThis`.
 */

/** The part of an AbortSignal a transport reads (a real AbortSignal fits). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A request body: text (JSON), bytes, or bytes streamed as they are produced. */
export type TransportBody = string | Uint8Array | AsyncIterable<Uint8Array>;

export interface ApiTransportRequest {
  method: HttpMethod;
  url: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: TransportBody;
  signal?: AbortSignalLike;
  /** The whole exchange, from sending to the last byte of the answer. */
  timeoutMs: number;
  /** An answer body above this many bytes is not read: the transport fails with `too-large`. */
  maxResponseBytes: number;
}

export interface ApiTransportResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * Sends one request and reads its answer whatever the status (a 4xx is an answer, not a
 * failure). Redirects are not followed: the client's credentials stay on its base URL.
 * Fails only with ApiTransportError.
 */
export interface ApiTransport {
  send(request: ApiTransportRequest): Promise<ApiTransportResponse>;
}

export type ApiTransportFailure = 'network' | 'timeout' | 'aborted' | 'too-large';

export class ApiTransportError extends Error {
  override name = 'ApiTransportError';
  constructor(
    readonly code: ApiTransportFailure,
    message: string,
    /** For `too-large`: the bytes announced or received when reading stopped. */
    readonly bytes: number | null = null,
  ) {
    super(message);
  }
}

// ---- the fetch transport ----

interface ByteReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

interface FetchResponseLike {
  status: number;
  headers: { forEach(callback: (value: string, name: string) => void): void };
  body: { getReader(): ByteReader } | null;
}

interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | AsyncIterable<Uint8Array>;
  redirect: 'manual';
  signal: AbortSignalLike;
  /** Node's fetch needs it for a streamed body. */
  duplex?: 'half';
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponseLike>;

interface Runtime {
  fetch?: FetchLike;
  AbortController: new () => { signal: AbortSignalLike; abort(reason?: unknown): void };
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const runtime = globalThis as unknown as Runtime;

/**
 * The transport over `fetch` (Node 20's, a browser's, or one passed in). Deadline and size
 * cap as the request gives them; a body larger than the cap is cut off while it arrives, so
 * it is never held whole.
 */
export function createFetchTransport(options: { fetch?: FetchLike } = {}): ApiTransport {
  const fetchImpl = options.fetch ?? runtime.fetch;
  if (!fetchImpl) throw new Error('no fetch in this runtime: pass one to createFetchTransport');
  return {
    async send(request) {
      const controller = new runtime.AbortController();
      let timedOut = false;
      const timer = runtime.setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, request.timeoutMs);
      const forwardAbort = () => controller.abort();
      request.signal?.addEventListener('abort', forwardAbort);
      const failure = (error: unknown): ApiTransportError => {
        if (error instanceof ApiTransportError) return error;
        if (timedOut) return new ApiTransportError('timeout', `no complete answer within ${request.timeoutMs} ms`);
        if (request.signal?.aborted) return new ApiTransportError('aborted', 'aborted by the caller');
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        return new ApiTransportError('network', cause?.code ?? cause?.message ?? (error as Error).message ?? String(error));
      };
      try {
        if (request.signal?.aborted) throw new ApiTransportError('aborted', 'aborted by the caller');
        const streamed = request.body !== undefined && typeof request.body !== 'string' && !(request.body instanceof Uint8Array);
        const response = await fetchImpl(request.url, {
          method: request.method,
          headers: request.headers,
          ...(request.body === undefined ? {} : { body: request.body }),
          ...(streamed ? { duplex: 'half' as const } : {}),
          redirect: 'manual',
          signal: controller.signal,
        });
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          headers[name.toLowerCase()] = value;
        });
        const body = await readCapped(response, headers['content-length'], request.maxResponseBytes, () => controller.abort());
        return { status: response.status, headers, body };
      } catch (error) {
        const failed = failure(error);
        // An answer left half read would keep its connection (and the server's) busy.
        controller.abort();
        throw failed;
      } finally {
        runtime.clearTimeout(timer);
        request.signal?.removeEventListener('abort', forwardAbort);
      }
    },
  };
}

/**
 * The answer's bytes, up to `maxBytes`. Past the cap the request is aborted before the reader
 * is cancelled: a cancelled fetch body alone may be drained in the background to keep its
 * connection for reuse, which is the download the cap is there to refuse.
 */
async function readCapped(
  response: FetchResponseLike,
  contentLength: string | undefined,
  maxBytes: number,
  abort: () => void,
): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const announced = contentLength === undefined ? NaN : Number(contentLength);
  if (announced > maxBytes) {
    abort();
    await reader.cancel().catch(() => undefined);
    throw new ApiTransportError('too-large', `the answer announces ${announced} bytes, more than the ${maxBytes} allowed`, announced);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!value) continue;
    total += value.byteLength;
    if (total > maxBytes) {
      abort();
      await reader.cancel().catch(() => undefined);
      throw new ApiTransportError('too-large', `the answer is more than the ${maxBytes} bytes allowed`, total);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, total);
}

export function concatBytes(chunks: readonly Uint8Array[], total = chunks.reduce((n, c) => n + c.byteLength, 0)): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
